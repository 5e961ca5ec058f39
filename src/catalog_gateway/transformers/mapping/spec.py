"""The mapping file as written: pydantic models of its YAML, checked when it is loaded.

The tree of output objects and field rules is walked by `compiler`, which decides for each
mapping whether it is an object or a rule and validates rules with `RuleSpec`.
"""

from __future__ import annotations

from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A mapping with one of these keys is a field rule; any other mapping is an output object.
SOURCE_KEYWORDS = ("path", "first_of", "const", "template", "html", "each")
RULE_KEYWORDS = frozenset((*SOURCE_KEYWORDS, "hook"))
# The keys `each` combines with; the value options (type, map, …) apply to scalars only.
EACH_KEYS = frozenset(("each", "fields", "required", "hook", "when_in"))
DATE_TYPES = frozenset(("date", "datetime"))

TypeName = Literal["string", "int", "decimal", "bool", "date", "datetime", "url", "list"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HtmlSpec(_Strict):
    """`html:` — HTML assembled from a list of objects (or of scalars, as `{value}`)."""

    items: str = Field(description="Path of the list.")
    item: str = Field(description='Template of one item, e.g. "<li>{heading}</li>".')
    wrap: Literal["ul", "ol", "none"] = "ul"
    title: str | None = Field(default=None, description="Path of a heading put before the list.")
    title_tag: str = Field(default="h3", pattern=r"^[a-z][a-z0-9]*$")
    intro: str | None = Field(
        default=None, description="Path of a paragraph put between the heading and the list."
    )


class RuleSpec(_Strict):
    """One output field: where its value comes from, and what is done to it on the way."""

    path: str | None = None
    first_of: list[str] | None = Field(default=None, min_length=1)
    const: Any = None
    template: str | None = None
    fields: dict[str, Any] | None = None
    html: HtmlSpec | None = None
    each: str | list[str] | None = None
    hook: str | None = Field(default=None, min_length=1)
    default: Any = None
    required: bool = False
    decode: Literal["base64"] | None = None
    type: TypeName | None = None
    formats: list[str] | None = Field(default=None, min_length=1)
    timezone: str | None = None
    end_of_day: bool = False
    split: str | None = Field(default=None, min_length=1)
    map: dict[Any, Any] | None = None
    map_unknown: Literal["error", "keep", "drop"] = "error"
    on_error: Literal["error", "warn"] | None = None
    when_in: str | list[str] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        sources = [key for key in SOURCE_KEYWORDS if key in self.model_fields_set]
        if len(sources) > 1:
            raise ValueError(
                f"a field rule takes its value from one place; this one has {_keys(sources)}"
            )
        if not sources and self.hook is None:
            raise ValueError(
                "a field rule needs one of `path`, `first_of`, `const`, `template`, `html`, "
                "`each` or `hook`"
            )
        return self

    @model_validator(mode="after")
    def _options_fit(self) -> Self:
        given = self.model_fields_set
        if "each" in given and not given <= EACH_KEYS:
            raise ValueError(
                f"`each` combines only with {_keys(sorted(EACH_KEYS - {'each'}))}; "
                f"not with {_keys(sorted(given - EACH_KEYS))}"
            )
        if self.fields is None and given & {"each", "template"}:
            raise ValueError(f"`{'each' if 'each' in given else 'template'}` needs `fields`")
        if self.fields is not None and not given & {"each", "template"}:
            raise ValueError("`fields` goes with `template` or `each`")
        if given & {"formats", "timezone"} and self.type not in DATE_TYPES:
            raise ValueError("`formats` and `timezone` go with `type: date` or `type: datetime`")
        if self.end_of_day and self.type != "datetime":
            raise ValueError("`end_of_day` goes with `type: datetime`")
        if "map_unknown" in given and self.map is None:
            raise ValueError("`map_unknown` goes with `map`")
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {self.timezone!r}") from None
        return self


class MappingFileSpec(_Strict):
    """The top of a mapping file."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        max_length=128,
        description="The transformer's name, as in `sources create --transformer`.",
    )
    description: str = ""
    hooks: str | None = Field(
        default=None,
        description="Module of hook functions: a dotted module name, or a `.py` file "
        "relative to the mapping file.",
    )
    events: dict[str, Any] = Field(min_length=1)


def _keys(keys: list[str]) -> str:
    return ", ".join(f"`{key}`" for key in keys)
