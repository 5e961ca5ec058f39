"""Loading mapping files: every mistake is found at load time, named by file and location."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from catalog_gateway.transformers.mapping import MappingFileError, load_mapping, parse_mapping


def problems(yaml_text: str, *, file: str = "exec-ed.yaml") -> list[str]:
    """The problems a mapping file is refused with."""
    with pytest.raises(MappingFileError) as raised:
        parse_mapping(textwrap.dedent(yaml_text), file=file)
    return raised.value.problems


def course_problems(course_yaml: str, *, extra: str = "") -> list[str]:
    body = textwrap.indent(textwrap.dedent(course_yaml).strip(), " " * 6)
    return problems(f"name: exec-ed\n{extra}events:\n  product.upsert:\n    course:\n{body}\n")


def test_an_unknown_key_in_a_rule_is_named_with_its_location_and_a_suggestion() -> None:
    assert course_problems("title: {paht: /altName, required: true}") == [
        "exec-ed.yaml: events.product.upsert.course.title: unknown key 'paht' "
        "(did you mean 'path'?)"
    ]


def test_a_field_the_canonical_payload_does_not_have_is_refused() -> None:
    [problem] = course_problems("titel: /name")
    assert problem.startswith(
        "exec-ed.yaml: events.product.upsert.course.titel: 'titel' is not a field of "
        "CourseInput; its fields: external_id, organization"
    )


def test_every_problem_of_the_file_is_reported_at_once() -> None:
    found = course_problems(
        """
        title: {path: name}
        number: {path: /n, type: integer}
        image_url: {path: /i, first_of: [/a]}
        level: {path: /l, hook: levels}
        """
    )
    assert found == [
        "exec-ed.yaml: events.product.upsert.course.title.path: 'name' is not a source path: "
        "write a JSON Pointer such as /name ($/name from the payload root, . for the current "
        "item)",
        "exec-ed.yaml: events.product.upsert.course.number.type: input should be 'string', "
        "'int', 'decimal', 'bool', 'date', 'datetime', 'url' or 'list'",
        "exec-ed.yaml: events.product.upsert.course.image_url: a field rule takes its value "
        "from one place; this one has `path`, `first_of`",
        "exec-ed.yaml: events.product.upsert.course.level.hook: 'levels' names a hook, but the "
        "file has no `hooks:` module",
    ]


def test_an_unknown_hook_is_refused_at_load_time() -> None:
    assert course_problems(
        "title: {path: /n, hook: no_such_hook}", extra="hooks: tests.transformers.sample_hooks\n"
    ) == [
        "exec-ed.yaml: events.product.upsert.course.title.hook: no hook function "
        "`no_such_hook` in tests.transformers.sample_hooks"
    ]


def test_a_hooks_module_that_cannot_be_imported_is_one_problem() -> None:
    assert course_problems(
        "title: {path: /n, hook: shout}", extra="hooks: tests.transformers.nowhere\n"
    ) == [
        "exec-ed.yaml: hooks: cannot import hooks module 'tests.transformers.nowhere': "
        "No module named 'tests.transformers.nowhere'"
    ]


def test_an_unknown_event_type_is_refused() -> None:
    [problem] = problems("name: x\nevents:\n  product.upsrt: canonical\n")
    assert problem.startswith(
        "exec-ed.yaml: events.product.upsrt: unknown event type 'product.upsrt'; known: "
        "instructor.upsert, course.upsert"
    )


def test_an_event_mapping_must_be_canonical_or_an_object() -> None:
    assert problems("name: x\nevents:\n  product.upsert: canon\n") == [
        "exec-ed.yaml: events.product.upsert: expected `canonical` or a mapping of output "
        "fields, got 'canon'"
    ]


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("{path: /t, formats: ['%Y']}", "`formats` and `timezone` go with `type: date`"),
        ("{path: /t, type: date, end_of_day: true}", "`end_of_day` goes with `type: datetime`"),
        ("{path: /t, type: datetime, timezone: Mars/Olympus}", "unknown time zone"),
        ("{path: /t, map_unknown: keep}", "`map_unknown` goes with `map`"),
        ("{path: /t, map: {a: x, ' A ': y}}", "' A ' is given twice"),
        ("{template: '{a}'}", "`template` needs `fields`"),
        ("{path: /t, fields: {a: /a}}", "`fields` goes with `template` or `each`"),
        ("{template: '{a}{b}', fields: {a: /a}}", "{b} is not one of `fields`"),
        ("{template: '{a}', fields: {a: /a, c: /c}}", "fields.c: not used by the template"),
        ("{template: '{0}', fields: {a: /a}}", "write fields as plain names"),
        ("{template: '{a', fields: {a: /a}}", "not a valid template"),
        ("{path: /a~2b}", "`~` must be followed by 0 or 1"),
        ("{path: /t, when_in: /t}", "`when_in` works only inside `each`"),
        ("{path: /t, decode: base32}", "decode: input should be 'base64'"),
        ("{required: true}", "a field rule needs one of `path`"),
        ("[/a, /b]", "expected a path such as /name or a mapping, got a list"),
        ("{html: {items: /m, item: '<li>{x}</li>', wrap: div}}", "html.wrap: input should be"),
    ],
)
def test_rule_mistakes_are_explained(rule: str, problem: str) -> None:
    [found] = course_problems(f"title: {rule}")
    assert found.startswith("exec-ed.yaml: events.product.upsert.course.title")
    assert problem in found


def test_each_on_a_field_that_is_not_a_list_of_objects_is_refused() -> None:
    assert course_problems("marketing: {each: /m, fields: {}}") == [
        "exec-ed.yaml: events.product.upsert.course.marketing.each: `each` builds a list of "
        "objects, but this field holds one object"
    ]


def test_a_list_of_objects_mapped_as_one_object_is_refused() -> None:
    assert problems("name: x\nevents:\n  product.upsert:\n    course_runs: {start: /s}\n") == [
        "exec-ed.yaml: events.product.upsert.course_runs: holds a list of objects: map it "
        "with `each` (or a `hook`)"
    ]


def test_when_in_must_name_a_path_of_an_enclosing_each() -> None:
    yaml_text = """
        name: x
        events:
          product.upsert:
            course_runs:
              each: [/variants, /custom]
              fields:
                restriction: {const: custom-b2c, when_in: /customs}
                seats:
                  each: ["."]
                  fields: {type: {const: paid, when_in: /custom}}
        """
    assert problems(yaml_text) == [
        "exec-ed.yaml: events.product.upsert.course_runs.fields.restriction.when_in: "
        "'/customs' is not a path of an enclosing `each` (/variants, /custom)"
    ]


def test_the_file_s_own_keys_are_checked() -> None:
    assert problems("name: Exec Ed\nevent: {}\n") == [
        "exec-ed.yaml: name: string should match pattern '^[a-z0-9][a-z0-9._-]*$'",
        "exec-ed.yaml: events: field required",
        "exec-ed.yaml: unknown key 'event' (did you mean 'events'?)",
    ]


def test_yaml_syntax_errors_give_the_line() -> None:
    assert problems("name: x\nevents:\n  product.upsert: {course: {title: /n}\n") == [
        "exec-ed.yaml: line 4, column 1: expected ',' or '}', but got '<stream end>'"
    ]


def test_a_key_given_twice_is_refused() -> None:
    [problem] = course_problems("title: /a\ntitle: /b")
    assert problem == "exec-ed.yaml: line 6, column 7: key 'title' is given twice"


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    assert problems("- a\n- b\n") == [
        "exec-ed.yaml: a mapping file is a YAML mapping with `name` and `events`"
    ]


def test_load_mapping_names_the_file_it_was_given(tmp_path: Path) -> None:
    file = tmp_path / "bootcamps.yaml"
    file.write_text("name: bootcamps\nevents:\n  degree.upsert: {degree: {titel: /t}}\n")
    with pytest.raises(MappingFileError) as raised:
        load_mapping(file)
    assert str(raised.value).startswith(f"{file}: events.degree.upsert.degree.titel:")
    with pytest.raises(MappingFileError, match="cannot read the file"):
        load_mapping(tmp_path / "missing.yaml")


def test_a_valid_file_loads_with_its_name_and_description(tmp_path: Path) -> None:
    file = tmp_path / "bootcamps.yaml"
    file.write_text(
        "name: bootcamps\ndescription: Bootcamp cohorts\nevents:\n"
        "  product.upsert: {course: {title: /t}}\n"
    )
    transformer = load_mapping(file)
    assert (transformer.name, transformer.description, transformer.origin) == (
        "bootcamps",
        "Bootcamp cohorts",
        str(file),
    )
