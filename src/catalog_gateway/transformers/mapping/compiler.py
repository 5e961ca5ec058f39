"""A mapping file's `events` → compiled rules, with every problem found and where it is.

Locations are dotted (`events.product.upsert.course.title.type`), as the author reads the file.
Output names are checked against the canonical models, so a typo fails at load time.
"""

from __future__ import annotations

import difflib
import string
from datetime import date, datetime
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError

from catalog_gateway.events.payloads import PAYLOAD_MODELS
from catalog_gateway.events.types import EventType
from catalog_gateway.pointers import pointer
from catalog_gateway.transformers.mapping import coercions
from catalog_gateway.transformers.mapping.hooks import BoundHook, find_hook
from catalog_gateway.transformers.mapping.pointers import CURRENT, SourcePath, parse_source_path
from catalog_gateway.transformers.mapping.rules import (
    EachRule,
    FieldRule,
    Node,
    ObjectRule,
    OutputField,
)
from catalog_gateway.transformers.mapping.sources import (
    Const,
    FirstOf,
    FromPath,
    Html,
    NoSource,
    Source,
    Template,
)
from catalog_gateway.transformers.mapping.spec import RULE_KEYWORDS, RuleSpec
from catalog_gateway.transformers.mapping.steps import (
    Convert,
    Default,
    Split,
    Step,
    ValueMap,
    map_key,
)
from catalog_gateway.transformers.mapping.targets import Target, targets_of
from catalog_gateway.transformers.mapping.values import kind, shown

CANONICAL = "canonical"
EventRules = dict[EventType, ObjectRule | None]  # None: the payload is already canonical

_SIMPLE_COERCIONS = {
    "string": coercions.to_string,
    "int": coercions.to_int,
    "decimal": coercions.to_decimal,
    "bool": coercions.to_bool,
    "url": coercions.to_url,
}
_ALLOWED_SHOWN = 20


def describe_validation_error(
    error: ValidationError, location: str, model: type[BaseModel]
) -> list[str]:
    """Pydantic's findings as `location: what is wrong` lines."""
    problems = []
    for detail in error.errors(include_url=False):
        parts = [str(part) for part in detail["loc"]]
        if detail["type"] == "extra_forbidden":
            key = parts[-1]
            known = list(_model_at(model, parts[:-1]).model_fields)
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append(f"{_prefix(location, *parts[:-1])}unknown key {key!r}{suggestion}")
        else:
            message = detail["msg"].removeprefix("Value error, ")
            problems.append(f"{_prefix(location, *parts)}{message[:1].lower()}{message[1:]}")
    return problems


class Compiler:
    """Compiles the rules of one mapping file; problems accumulate in `problems`."""

    def __init__(self, hooks: ModuleType | None, *, hooks_broken: bool = False) -> None:
        self.hooks = hooks
        self.hooks_broken = hooks_broken  # already reported at `hooks`: no cascade per rule
        self.problems: list[str] = []

    def events(self, events: dict[str, Any]) -> EventRules:
        """Rules per event type; `product.retire` is canonical unless the file maps it."""
        rules: EventRules = {}
        for name, spec in events.items():
            location = _at("events", name)
            try:
                event_type = EventType(name)
            except ValueError:
                known = ", ".join(member.value for member in EventType)
                self.problems.append(f"{location}: unknown event type {name!r}; known: {known}")
                continue
            if spec == CANONICAL:
                rules[event_type] = None
            elif isinstance(spec, dict):
                rules[event_type] = self.object(spec, location, PAYLOAD_MODELS[event_type], ())
            else:
                self.problems.append(
                    f"{location}: expected `canonical` or a mapping of output fields, "
                    f"got {shown(spec)}"
                )
        rules.setdefault(EventType.PRODUCT_RETIRE, None)
        return rules

    def object(
        self,
        spec: dict[Any, Any],
        location: str,
        model: type[BaseModel] | None,
        each_paths: tuple[str, ...],
    ) -> ObjectRule:
        """An output object: one node per key."""
        targets = targets_of(model) if model is not None else None
        fields: list[OutputField] = []
        for key, value in spec.items():
            where = _at(location, str(key))
            target = None
            if targets is not None and model is not None:
                target = targets.get(str(key))
                if target is None:
                    self.problems.append(
                        f"{where}: {key!r} is not a field of {model.__name__}; "
                        f"its fields: {', '.join(targets)}"
                    )
                    continue
            node = self.node(value, where, target, each_paths)
            if node is not None:
                keep = isinstance(node, ObjectRule) and target is not None and target.required
                fields.append(OutputField(str(key), pointer([str(key)]), node, keep_empty=keep))
        return ObjectRule(tuple(fields))

    def node(
        self, spec: Any, location: str, target: Target | None, each_paths: tuple[str, ...]
    ) -> Node | None:
        """A field rule (a path string or a rule mapping) or a nested output object."""
        if isinstance(spec, str):
            return self.rule({"path": spec}, location, target, each_paths)
        if not isinstance(spec, dict):
            self.problems.append(
                f"{location}: expected a path such as /name or a mapping, got {kind(spec)} "
                f"{shown(spec)}"
            )
            return None
        if not _is_object(spec, target):
            return self.rule(spec, location, target, each_paths)
        if target is not None and target.is_object_list:
            self.problems.append(
                f"{location}: holds a list of objects: map it with `each` (or a `hook`)"
            )
            return None
        return self.object(spec, location, target.model if target else None, each_paths)

    def rule(
        self,
        spec: dict[Any, Any],
        location: str,
        target: Target | None,
        each_paths: tuple[str, ...],
    ) -> Node | None:
        """A field rule or an `each` rule; None when it has problems."""
        found = len(self.problems)
        try:
            rule = RuleSpec.model_validate(spec)
        except ValidationError as error:
            self.problems.extend(describe_validation_error(error, location, RuleSpec))
            return None
        when_in = self._when_in(rule.when_in, location, each_paths)
        hook = self._hook(rule.hook, location)
        node: Node
        if rule.each is not None:
            node = self._each(rule, location, target, each_paths, hook, when_in)
        else:
            node = FieldRule(
                source=self._source(rule, location),
                steps=self._steps(rule, location),
                hook=hook,
                required=rule.required,
                strict=rule.on_error == "error" or (rule.required and rule.on_error != "warn"),
                when_in=when_in,
            )
        return node if len(self.problems) == found else None

    def _each(
        self,
        rule: RuleSpec,
        location: str,
        target: Target | None,
        each_paths: tuple[str, ...],
        hook: BoundHook | None,
        when_in: frozenset[str] | None,
    ) -> EachRule:
        if target is not None and not target.is_object_list:
            holds = "one object" if target.is_object else "values, not objects"
            self.problems.append(
                f"{location}.each: `each` builds a list of objects, but this field holds {holds}"
            )
        written = [rule.each] if isinstance(rule.each, str) else list(rule.each or [])
        if not written:
            self.problems.append(f"{location}.each: name at least one path")
        paths = tuple(
            self._path(text, _at(location, "each", *([str(i)] if len(written) > 1 else [])))
            for i, text in enumerate(written)
        )
        inner = (*each_paths, *(text for text in written if text != CURRENT))
        model = target.model if target is not None else None
        fields = self.object(rule.fields or {}, _at(location, "fields"), model, inner)
        return EachRule(
            paths=paths, fields=fields, hook=hook, required=rule.required, when_in=when_in
        )

    def _source(self, rule: RuleSpec, location: str) -> Source:
        if rule.path is not None:
            return FromPath(self._path(rule.path, _at(location, "path")))
        if rule.first_of is not None:
            return FirstOf(
                tuple(
                    self._path(text, _at(location, "first_of", str(index)))
                    for index, text in enumerate(rule.first_of)
                )
            )
        if "const" in rule.model_fields_set:
            return Const(_plain(rule.const))
        if rule.template is not None:
            return self._template(rule.template, rule.fields or {}, location)
        if rule.html is not None:
            where = _at(location, "html")
            spec = rule.html
            return Html(
                items=self._path(spec.items, _at(where, "items")),
                item=spec.item,
                names=tuple(self._names(spec.item, _at(where, "item"))),
                wrap=None if spec.wrap == "none" else spec.wrap,
                title=self._path(spec.title, _at(where, "title")) if spec.title else None,
                title_tag=spec.title_tag,
                intro=self._path(spec.intro, _at(where, "intro")) if spec.intro else None,
            )
        return NoSource()

    def _template(self, template: str, fields: dict[str, Any], location: str) -> Template:
        found = len(self.problems)
        names = self._names(template, _at(location, "template"))
        if len(self.problems) > found:  # an unreadable template: its fields cannot be checked
            return Template(template=template, fields=())
        for name in names:
            if name not in fields:
                self.problems.append(f"{location}.template: {{{name}}} is not one of `fields`")
        compiled = []
        for name, path in fields.items():
            where = _at(location, "fields", name)
            if name not in names:
                self.problems.append(f"{where}: not used by the template")
            else:
                compiled.append((name, self._path(path, where)))
        return Template(template=template, fields=tuple(compiled))

    def _names(self, template: str, location: str) -> list[str]:
        """The `{name}` fields of a template, checked to be plain names."""
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as error:
            self.problems.append(f"{location}: not a valid template: {error}")
            return []
        names: list[str] = []
        for _, name, _, _ in parsed:
            if name is None:
                continue
            if not name or name.isdigit() or any(char in name for char in ".[]"):
                self.problems.append(
                    f"{location}: write fields as plain names such as {{heading}}, not {{{name}}}"
                )
            elif name not in names:
                names.append(name)
        return names

    def _steps(self, rule: RuleSpec, location: str) -> tuple[Step, ...]:
        steps: list[Step] = []
        if rule.decode == "base64":
            steps.append(Convert(coercions.decode_base64))
        if "default" in rule.model_fields_set:
            steps.append(Default(_plain(rule.default)))
        if rule.split is not None:
            steps.append(Split(rule.split))
        if rule.map is not None:
            steps.append(Convert(self._value_map(rule.map, rule.map_unknown, location)))
        if rule.type is not None:
            steps.append(_coercion(rule))
        return tuple(steps)

    def _value_map(self, choices: dict[Any, Any], unknown: Any, location: str) -> ValueMap:
        normalised: dict[str, Any] = {}
        for key, value in choices.items():
            folded = map_key(key)
            if folded in normalised:
                self.problems.append(
                    f"{location}.map: {key!r} is given twice (keys ignore case and spaces)"
                )
            normalised[folded] = _plain(value)
        keys = [str(key) for key in choices]
        allowed = ", ".join(keys[:_ALLOWED_SHOWN]) + (", …" if len(keys) > _ALLOWED_SHOWN else "")
        return ValueMap(choices=normalised, allowed=f"allowed: {allowed}", unknown=unknown)

    def _hook(self, name: str | None, location: str) -> BoundHook | None:
        if name is None or self.hooks_broken:
            return None
        if self.hooks is None:
            self.problems.append(
                f"{location}.hook: {name!r} names a hook, but the file has no `hooks:` module"
            )
            return None
        try:
            return find_hook(self.hooks, name)
        except ValueError as error:
            self.problems.append(f"{location}.hook: {error}")
            return None

    def _when_in(
        self, written: str | list[str] | None, location: str, each_paths: tuple[str, ...]
    ) -> frozenset[str] | None:
        if written is None:
            return None
        paths = [written] if isinstance(written, str) else written
        if not each_paths:
            self.problems.append(f"{location}.when_in: `when_in` works only inside `each`")
        else:
            for path in paths:
                if path not in each_paths:
                    self.problems.append(
                        f"{location}.when_in: {path!r} is not a path of an enclosing `each` "
                        f"({', '.join(each_paths)})"
                    )
        return frozenset(paths)

    def _path(self, text: str, location: str) -> SourcePath:
        try:
            return parse_source_path(text)
        except ValueError as error:
            self.problems.append(f"{location}: {error}")
            return parse_source_path(CURRENT)


def _coercion(rule: RuleSpec) -> Convert:
    if rule.type == "list":
        return Convert(coercions.to_list, whole=True)
    if rule.type == "date":
        return Convert(coercions.date_coercion(rule.formats))
    if rule.type == "datetime":
        return Convert(coercions.datetime_coercion(rule.formats, rule.timezone, rule.end_of_day))
    assert rule.type is not None
    return Convert(_SIMPLE_COERCIONS[rule.type])


def _is_object(spec: dict[Any, Any], target: Target | None) -> bool:
    """A mapping is an output object when it has no rule keyword and the field holds objects.

    A mapping with rule options but no keyword (`{eahc: /x, fields: …}`, or `{paht: /x,
    required: true}` where the model does not say) is taken as a rule, so its mistake is
    reported as such.
    """
    if RULE_KEYWORDS & spec.keys():
        return False
    if target is not None and target.is_object_list:
        return not RuleSpec.model_fields.keys() & spec.keys()  # `{eahc: …, fields: …}`
    if target is not None:
        return target.model is not None
    options = RuleSpec.model_fields.keys() - RULE_KEYWORDS
    return not any(
        key in options and not isinstance(value, str | dict) for key, value in spec.items()
    )


def _model_at(model: type[BaseModel], parts: list[str]) -> type[BaseModel]:
    for part in parts:
        target = targets_of(model).get(part)
        if target is None or target.model is None:
            break
        model = target.model
    return model


def _plain(value: Any) -> Any:
    """A YAML value as JSON would carry it (YAML reads 2027-01-01 as a date)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(element) for element in value]
    if isinstance(value, dict):
        return {str(key): _plain(element) for key, element in value.items()}
    return value


def _at(location: str, *parts: str) -> str:
    return ".".join(part for part in (location, *parts) if part)


def _prefix(location: str, *parts: str) -> str:
    where = _at(location, *parts)
    return f"{where}: " if where else ""
