"""The mapping language, keyword by keyword: what each rule puts in the canonical payload."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from catalog_gateway.events.types import EventType
from catalog_gateway.transformers.mapping import MappingTransformer
from tests.transformers.support import course, course_field, issues, mapping

HOOKS = "tests.transformers.sample_hooks"


def _b64(text: str, *, urlsafe: bool = False, padded: bool = True) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    encoded = encode(text.encode()).decode()
    return encoded if padded else encoded.rstrip("=")


def test_a_path_string_is_shorthand_for_a_path_rule() -> None:
    raw = {"name": "Data Science"}
    assert course_field("/name", raw) == course_field("{path: /name}", raw) == "Data Science"


def test_paths_are_json_pointers_with_escapes_and_list_indexes() -> None:
    raw = {"a/b": {"c~d": ["zero", "one"]}}
    assert course_field("/a~1b/c~0d/1", raw) == "one"
    assert course_field("/a~1b/c~0d/7", raw) is None
    assert course_field("/a~1b/c~0d/01", raw) is None


def test_first_of_takes_the_first_non_empty_value_and_records_where_it_came_from() -> None:
    result = course(
        "title: {first_of: [/altName, /blank, /name]}", {"altName": None, "blank": " ", "name": "N"}
    )
    assert result.payload == {"course": {"title": "N"}}
    assert result.provenance.source_path("/course/title") == "/name"


def test_first_of_with_nothing_records_the_first_path() -> None:
    result = course("title: {first_of: [/altName, /name]}", {})
    assert result.payload == {"course": {}}
    assert result.provenance.source_path("/course/title") == "/altName"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("{const: executive-education-2u}", "executive-education-2u"),
        ("{const: 7}", 7),
        ("{const: [a, b]}", ["a", "b"]),
        ("{const: 2027-01-31}", "2027-01-31"),
    ],
)
def test_const_is_the_literal_value(rule: str, expected: Any) -> None:
    assert course_field(rule, {}) == expected


def test_const_lists_are_not_shared_between_events() -> None:
    transformer = mapping(
        """
        name: test
        events:
          product.upsert:
            course:
              subjects: {const: [math]}
        """
    )
    first = transformer.transform(EventType.PRODUCT_UPSERT, {})
    assert first.payload is not None
    first.payload["course"]["subjects"].append("physics")
    second = transformer.transform(EventType.PRODUCT_UPSERT, {})
    assert second.payload == {"course": {"subjects": ["math"]}}


def test_template_fills_named_fields_and_leaves_missing_ones_blank() -> None:
    rule = '{template: "{org}-{num}", fields: {org: /org, num: /number}}'
    assert course_field(rule, {"org": "MITx", "number": 101}) == "MITx-101"
    assert course_field(rule, {"number": 101}) == "-101"
    assert course_field(rule, {}) is None


def test_template_provenance_is_the_first_field_that_had_a_value() -> None:
    result = course(
        'number: {template: "{org}{num}", fields: {org: /org, num: /num}}', {"num": "7"}
    )
    assert result.provenance.source_path("/course/number") == "/num"


def test_default_applies_to_empty_values_and_goes_through_type() -> None:
    rule = "{path: /effort, default: '4', type: int}"
    assert course_field(rule, {"effort": ""}) == 4
    assert course_field(rule, {"effort": "6"}) == 6


@pytest.mark.parametrize(
    "encoded",
    [
        _b64("https://example.com/a?b=c"),
        _b64("https://example.com/a?b=c", padded=False),
        _b64("https://example.com/~ü?>", urlsafe=True, padded=False),
    ],
)
def test_decode_base64_accepts_standard_and_url_safe_with_or_without_padding(
    encoded: str,
) -> None:
    decoded = course_field("{path: /url, decode: base64}", {"url": encoded})
    assert decoded.startswith("https://example.com/")


def test_split_makes_trimmed_non_empty_parts() -> None:
    rule = '{path: /subjects, split: "|"}'
    assert course_field(rule, {"subjects": " math | | physics|"}, "subjects") == [
        "math",
        "physics",
    ]


def test_map_compares_trimmed_case_insensitive_keys_and_applies_to_each_element() -> None:
    rule = "{path: /langs, split: ',', map: {English: en-US, Spanish: es-419}}"
    assert course_field(rule, {"langs": " english,SPANISH "}, "subjects") == ["en-US", "es-419"]


@pytest.mark.parametrize(
    ("unknown", "expected"), [("keep", ["en-US", "Klingon"]), ("drop", ["en-US"])]
)
def test_map_unknown_keep_or_drop(unknown: str, expected: list[str]) -> None:
    rule = f"{{path: /langs, map: {{English: en-US}}, map_unknown: {unknown}}}"
    assert course_field(rule, {"langs": ["English", "Klingon"]}, "subjects") == expected


def test_html_renders_escaped_items_with_a_title() -> None:
    rule = '{html: {items: /modules, item: "<li>{heading}: {text}</li>", title: /heading}}'
    raw = {
        "heading": "What you <learn>",
        "modules": [{"heading": "Intro", "text": "R & D"}, {"heading": "Ethics"}, {}],
    }
    assert course_field(rule, raw, "syllabus") == (
        "<h3>What you &lt;learn&gt;</h3><ul><li>Intro: R &amp; D</li><li>Ethics: </li></ul>"
    )


def test_html_puts_an_intro_paragraph_between_the_title_and_the_list() -> None:
    rule = '{html: {items: /modules, item: "<li>{heading}</li>", title: /heading, intro: /blurb}}'
    raw = {
        "heading": "Curriculum",
        "blurb": "Eight weeks & a project.",
        "modules": [{"heading": "A"}],
    }
    assert course_field(rule, raw, "syllabus") == (
        "<h3>Curriculum</h3><p>Eight weeks &amp; a project.</p><ul><li>A</li></ul>"
    )
    assert course_field(rule, raw | {"blurb": " "}, "syllabus") == (
        "<h3>Curriculum</h3><ul><li>A</li></ul>"
    )


def test_html_over_a_list_of_text_uses_value_and_other_wrappers() -> None:
    rule = '{html: {items: /faq, item: "<p>{value}</p>", wrap: none, title_tag: h2, title: /t}}'
    assert course_field(rule, {"faq": ["a", "b"], "t": "FAQ"}, "faq") == (
        "<h2>FAQ</h2><p>a</p><p>b</p>"
    )
    ordered = '{html: {items: /faq, item: "<li>{value}</li>", wrap: ol}}'
    assert course_field(ordered, {"faq": "only"}, "faq") == "<ol><li>only</li></ol>"
    assert course_field(ordered, {"faq": []}, "faq") is None


EACH = """
name: test
events:
  product.upsert:
    course:
      title: /name
    course_runs:
      each: [/variant, /variants, /customPresentations]
      fields:
        external_id: /id
        run_type: {const: paid-executive-education}
        restriction: {const: custom-b2b-enterprise, when_in: /customPresentations}
        content_language: $/language
        seats:
          each: ["."]
          fields:
            type: {const: paid-executive-education}
            price: {path: /price, type: decimal}
            currency: {const: USD}
"""


@pytest.fixture
def each_mapping() -> MappingTransformer:
    return mapping(EACH)


PRODUCT = {
    "name": "Data Science",
    "language": "en-US",
    "variant": {"id": "v1", "price": "2800.00"},
    "variants": [],
    "customPresentations": [{"id": "c1", "price": 100}, None, {"id": "c2", "price": "x"}],
}


def test_each_makes_one_object_per_item_of_every_path_in_order(
    each_mapping: MappingTransformer,
) -> None:
    result = each_mapping.transform(EventType.PRODUCT_UPSERT, PRODUCT)
    assert result.payload is not None
    runs = result.payload["course_runs"]
    assert [run["external_id"] for run in runs] == ["v1", "c1", "c2"]
    assert [run.get("restriction") for run in runs] == [
        None,
        "custom-b2b-enterprise",
        "custom-b2b-enterprise",
    ]
    assert {run["content_language"] for run in runs} == {"en-US"}
    assert runs[0]["seats"] == [
        {"type": "paid-executive-education", "price": "2800.00", "currency": "USD"}
    ]
    assert runs[1]["seats"][0]["price"] == "100"


def test_each_items_record_where_they_came_from_and_their_fields_inherit_it(
    each_mapping: MappingTransformer,
) -> None:
    result = each_mapping.transform(EventType.PRODUCT_UPSERT, PRODUCT)
    provenance = result.provenance
    assert provenance.source_path("/course_runs/0") == "/variant"
    assert provenance.source_path("/course_runs/1/external_id") == "/customPresentations/0/id"
    assert provenance.source_path("/course_runs/2") == "/customPresentations/2"
    assert provenance.source_path("/course_runs/2/start") == "/customPresentations/2"
    assert provenance.source_path("/course_runs/2/seats/0/price") == (
        "/customPresentations/2/price"
    )
    assert provenance.source_path("/course_runs/2/content_language") == "/language"
    assert issues(result)["warnings"] == {
        ("invalid_format", "/course_runs/2/seats/0/price", "/customPresentations/2/price")
    }


def test_each_with_nothing_to_map_leaves_the_list_out(each_mapping: MappingTransformer) -> None:
    result = each_mapping.transform(EventType.PRODUCT_UPSERT, {"name": "N"})
    assert result.payload == {"course": {"title": "N"}}
    assert result.provenance.source_path("/course_runs") == "/variant"


def test_hook_runs_last_on_the_converted_value() -> None:
    result = course(
        "title: {path: /name, type: string, hook: shout}", {"name": " ds "}, hooks=HOOKS
    )
    assert result.payload == {"course": {"title": "DS"}}


def test_hook_context_exposes_the_payload_the_item_and_the_paths() -> None:
    result = course(
        "short_description: {path: /id, hook: describe_context}",
        {"id": "p-1", "name": "Data"},
        hooks=HOOKS,
    )
    assert result.payload is not None
    assert result.payload["course"]["short_description"] == (
        "value=p-1 source=/id canonical=/course/short_description "
        "root.name=Data@/name item.id=p-1@/id item_is_dict=True root_has_name=True"
    )


def test_a_hook_without_a_path_builds_the_value_and_records_its_provenance() -> None:
    transformer = mapping(
        f"""
        name: test
        hooks: {HOOKS}
        events:
          product.upsert:
            course_runs: {{hook: build_runs}}
        """
    )
    raw = {"sessions": [{"id": "s1", "from": "2027-01-01"}, {"id": "s2", "from": "2027-02-01"}]}
    result = transformer.transform(EventType.PRODUCT_UPSERT, raw)
    assert result.payload == {
        "course_runs": [
            {"external_id": "s1", "start": "2027-01-01"},
            {"external_id": "s2", "start": "2027-02-01"},
        ]
    }
    assert result.provenance.source_path("/course_runs/1/start") == "/sessions/1/from"
    assert result.provenance.source_path("/course_runs/1/end") == "/sessions/1"


def test_hooks_report_errors_and_warnings_at_the_field() -> None:
    draft = course("title: {path: /status, hook: reject_draft}", {"status": "draft"}, hooks=HOOKS)
    assert draft.payload == {"course": {}}
    assert [(e.code.value, e.message, e.path, e.source_path) for e in draft.errors] == [
        ("invalid_value", "`/status` is a draft", "/course/title", "/status")
    ]
    beta = course("title: {path: /status, hook: reject_draft}", {"status": "beta"}, hooks=HOOKS)
    assert beta.payload == {"course": {"title": "beta"}}
    assert issues(beta)["warnings"] == {("invalid_value", "/course", "/status")}


def test_a_hook_that_raises_is_an_error_of_its_field_not_a_crash() -> None:
    result = course(
        "title: /name\nsubjects: {path: /subject, hook: explode}",
        {"name": "N", "subject": "x"},
        hooks=HOOKS,
    )
    assert result.payload == {"course": {"title": "N"}}
    [error] = result.errors
    assert (error.code.value, error.path, error.source_path) == (
        "transform_failed",
        "/course/subjects",
        "/subject",
    )
    assert "hook `explode` failed on `/subject`: KeyError" in error.message


def test_hooks_can_live_in_a_python_file_next_to_the_mapping(tmp_path: Any) -> None:
    (tmp_path / "my_hooks.py").write_text(
        "def exclaim(value, ctx):\n    return value + '!'\n", encoding="utf-8"
    )
    file = tmp_path / "bootcamps.yaml"
    file.write_text(
        "name: bootcamps\nhooks: my_hooks.py\nevents:\n"
        "  product.upsert:\n    course:\n      title: {path: /name, hook: exclaim}\n",
        encoding="utf-8",
    )
    from catalog_gateway.transformers.mapping import load_mapping

    result = load_mapping(file).transform(EventType.PRODUCT_UPSERT, {"name": "Go"})
    assert result.payload == {"course": {"title": "Go!"}}


def test_empty_values_are_left_out_but_their_provenance_is_kept() -> None:
    result = course(
        "title: /name\nnumber: /code\nmarketing:\n  external_url: /url",
        {"name": "", "code": None},
    )
    assert result.payload == {"course": {}}
    assert result.provenance.source_path("/course/title") == "/name"
    assert result.provenance.source_path("/course/number") == "/code"
    assert result.provenance.source_path("/course/marketing/external_url") == "/url"


def test_canonical_event_types_pass_through_with_identity_provenance() -> None:
    transformer = mapping(
        """
        name: test
        events:
          course.upsert: canonical
          product.upsert:
            course: {title: /name}
        """
    )
    raw = {"course": {"external_id": "c-1"}}
    result = transformer.transform(EventType.COURSE_UPSERT, raw)
    assert result.payload is raw
    assert result.provenance.source_path("/course/external_id") == "/course/external_id"
    assert transformer.input_schema(EventType.COURSE_UPSERT) is not None
    assert transformer.input_schema(EventType.PRODUCT_UPSERT) is None


def test_product_retire_is_canonical_unless_the_file_maps_it() -> None:
    transformer = mapping("name: test\nevents:\n  product.upsert: {course: {title: /name}}\n")
    assert transformer.event_types == (EventType.PRODUCT_UPSERT, EventType.PRODUCT_RETIRE)
    retire = {"course": {"external_id": "c-1"}}
    assert transformer.transform(EventType.PRODUCT_RETIRE, retire).payload == retire


def test_an_event_type_the_file_does_not_map_is_a_transform_failure() -> None:
    transformer = mapping("name: bootcamps\nevents:\n  product.upsert: {course: {title: /n}}\n")
    result = transformer.transform(EventType.DEGREE_UPSERT, {"degree": {}})
    assert result.payload is None
    [error] = result.errors
    assert error.code.value == "transform_failed"
    assert error.message == "transformer bootcamps does not handle degree.upsert"
    assert error.step == "transform"
