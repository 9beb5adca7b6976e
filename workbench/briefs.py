"""Briefs: a YAML or JSON file that says what to make for a title, checked against a JSON Schema
and fanned out into one :class:`JobSpec` per job.

```yaml
name: Launch artwork            # free text, at most 200 characters
title: Sample Title             # a title name, or its numeric id (quote a numeric name: "1917")
generators:                     # 1..50 items
  - kind: thumbnail             # a registered generator kind
    segments: [action, romance] # default: every known segment
    formats: [16x9, 2x3]        # default: every format
    top_k: 3                    # 1..10, default 3
    title_text: "Sample Title"  # optional; one printable line
    output: [jpeg, webp]        # default: [jpeg]
    treatment:                  # optional: outpaint | restyle | clean, or a mapping:
      name: outpaint            #   engine: auto | model | classical, seed, steps, strength,
      engine: auto              #   guidance, prompt, negative_prompt, regions [[x, y, w, h]]
```

Reading is hostile-input safe, in this order: suffix, size (checked before reading, and the read
is bounded too), UTF-8, parse, JSON Schema (Draft 2020-12). YAML is read with the YAML 1.2 core
schema (``no`` and ``on`` are strings, ``1:20`` is a string, dates are strings) by a SafeLoader
that refuses anchors and aliases (billion laughs), every explicit tag (``!!python/object``),
duplicate and non-string keys, and nesting deeper than ``MAX_DEPTH``. JSON is read with the same
depth cap, duplicate keys refused and NaN/Infinity refused. Every problem the schema finds is
one line, ``<file>: <location>: <what is wrong>``; all of them go into one :class:`InvalidBrief`.

Each item is a creative kind of the registry (``generators.KINDS``): its schema comes from the
kind's parameters and its jobs from the kind's ``fan_out``, so adding a kind adds its brief items
with nothing to change here. Text such as ``title_text`` is data: ``:``,
``'``, ``%`` and ``\\`` are kept as written (the renderer escapes what it draws); only what cannot
be one printable line is refused.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent

from workbench.errors import InvalidInput
from workbench.ids import MAX_INT
from workbench.names import check_title_name

BriefFormat = Literal["yaml", "json"]

SUFFIXES: Mapping[str, BriefFormat] = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
MAX_BRIEF_BYTES = 1 << 20  # 1 MiB: a brief is a page of text, not data
MAX_DEPTH = 32  # a brief is ~4 levels deep; the cap keeps parsers far from the recursion limit
MAX_NAME_CHARS = 200
MAX_ITEMS = 50
MAX_PROBLEMS_SHOWN = 5
MAX_VALUE_CHARS = 60  # how much of a bad value an error message quotes


class InvalidBrief(InvalidInput):
    """A brief that cannot be used; ``problems`` holds every one-line problem found."""

    def __init__(self, problems: Iterable[str]):
        self.problems: tuple[str, ...] = tuple(problems)
        shown = list(self.problems[:MAX_PROBLEMS_SHOWN])
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"and {len(self.problems) - MAX_PROBLEMS_SHOWN} more")
        super().__init__("; ".join(shown))


# -- what a brief becomes -----------------------------------------------------------------------


@dataclass(frozen=True)
class BriefItem:
    """One entry of ``generators`` as written (``kind`` taken out; defaults not filled in)."""

    kind: str
    params: dict[str, Any]
    index: int  # position in the brief's ``generators`` list


@dataclass(frozen=True)
class Brief:
    name: str
    title: str | int  # a name, or a title id when the brief gave an integer
    items: tuple[BriefItem, ...]
    source: str  # the file name problems are reported against

    def to_dict(self) -> dict[str, Any]:
        """The brief as JSON data (what the catalog's ``Brief.spec`` stores)."""
        return {
            "name": self.name,
            "title": self.title,
            "generators": [{"kind": item.kind, **item.params} for item in self.items],
        }


@dataclass(frozen=True)
class JobSpec:
    """One job: a generator kind, the title it runs on and the generator's parameters as JSON
    data, every default filled in and lists in a canonical order, so that equal work has equal
    ``key_material()``."""

    kind: str
    title: str | int
    params: dict[str, Any]

    def key_material(self) -> dict[str, Any]:
        """The canonical dict a job key is hashed from. The title is the reference the brief gave;
        a caller that resolves it should key on the source hash and generator version too."""
        return {"kind": self.kind, "title": self.title, "params": json.loads(_canonical_json(self.params))}


# -- brief item kinds ---------------------------------------------------------------------------


def brief_kinds() -> list[str]:
    """Every registered creative kind: each is a brief item kind (``generators.KINDS``)."""
    from generators import kinds

    return sorted(kinds())


def generator_params(spec: JobSpec) -> Any:
    """The kind's typed parameters for one job (its ``Params`` dataclass)."""
    from generators import get_kind

    return get_kind(spec.kind).parse_params(spec.params)


# -- the schema ---------------------------------------------------------------------------------


def brief_schema() -> dict[str, Any]:
    """The whole brief as a JSON Schema (Draft 2020-12), built from each kind's parameters.

    ``x-`` keywords are this module's: ``x-noun`` names an enum's values in messages,
    ``x-printable-line`` and ``x-title-ref`` are checks (see ``_KEYWORDS``)."""
    from generators import get_kind

    kinds = brief_kinds()
    per_kind = [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {
                "properties": {"kind": {"const": kind}, **get_kind(kind).brief_properties()},
                "required": ["kind", *get_kind(kind).brief_required()],
                "additionalProperties": False,
            },
        }
        for kind in kinds
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Creative Workbench brief",
        "type": "object",
        "required": ["name", "title", "generators"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "maxLength": MAX_NAME_CHARS, "x-printable-line": True},
            "title": {"type": ["string", "integer"], "x-title-ref": True},
            "generators": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ITEMS,
                "items": {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {"kind": {"enum": kinds, "x-noun": "generator kind"}},
                    "allOf": per_kind,
                },
            },
        },
    }


def _printable_line(validator, enabled, instance, schema) -> Iterator[jsonschema.ValidationError]:
    if not enabled or not isinstance(instance, str):
        return
    if not instance.strip():
        yield jsonschema.ValidationError("must not be blank")
    elif not instance.isprintable():
        bad = next(ch for ch in instance if not ch.isprintable())
        yield jsonschema.ValidationError(
            f"must be one printable line: {_quote(instance)} contains {_describe_char(bad)}"
        )


def _title_ref(validator, enabled, instance, schema) -> Iterator[jsonschema.ValidationError]:
    if not enabled:
        return
    if isinstance(instance, int) and not isinstance(instance, bool) and instance < 1:
        yield jsonschema.ValidationError(f"a title id is a positive integer, got {instance}")
    elif isinstance(instance, str):
        try:
            check_title_name(instance)
        except InvalidInput as exc:
            yield jsonschema.ValidationError(str(exc))


_KEYWORDS = {"x-printable-line": _printable_line, "x-title-ref": _title_ref}
# JSON Schema counts 3.0 as an integer; a generator does not, so neither does a brief
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
)
_BriefValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, validators=_KEYWORDS, type_checker=_TYPES
)


# -- reading ------------------------------------------------------------------------------------


def load_brief(path: Path) -> Brief:
    """Read, check and parse a brief file (``.yaml``, ``.yml`` or ``.json``)."""
    path = Path(path)
    source = path.name
    # 1. suffix, then size before reading (and a bounded read: a FIFO or /dev/zero has no size)
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InvalidBrief([f"{source}: a brief is a .yaml, .yml or .json file, not {path.suffix or 'no suffix'!r}"])
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InvalidBrief([f"{source}: not a regular file"])
        if size > MAX_BRIEF_BYTES:
            raise InvalidBrief([f"{source}: {size} bytes; a brief is at most {MAX_BRIEF_BYTES} bytes (1 MiB)"])
        with path.open("rb") as f:
            data = f.read(MAX_BRIEF_BYTES + 1)
    except FileNotFoundError:
        raise InvalidBrief([f"{source}: no such file ({path})"]) from None
    except OSError as exc:
        raise InvalidBrief([f"{source}: cannot read: {exc.strerror or exc}"]) from None
    if len(data) > MAX_BRIEF_BYTES:
        raise InvalidBrief([f"{source}: more than {MAX_BRIEF_BYTES} bytes; a brief is at most 1 MiB"])
    # 2. text
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidBrief(
            [f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save the brief as UTF-8"]
        ) from None
    return parse_brief(text, fmt, source)


def parse_brief(text: str, fmt: BriefFormat, source: str) -> Brief:
    """Parse and check brief text. ``source`` names it in error messages (a file name)."""
    # 1. size and parse
    if len(text) > MAX_BRIEF_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BRIEF_BYTES:
        raise InvalidBrief([f"{source}: more than {MAX_BRIEF_BYTES} bytes; a brief is at most 1 MiB"])
    if fmt == "yaml":
        data = _parse_yaml(text, source)
    elif fmt == "json":
        data = _parse_json(text, source)
    else:
        raise InvalidBrief([f"{source}: unknown brief format {fmt!r}; known: yaml, json"])
    if data is None:
        raise InvalidBrief([f"{source}: the brief is empty; it needs name, title and generators"])
    if not isinstance(data, dict):
        raise InvalidBrief(
            [f"{source}: a brief is a mapping of name, title and generators, not {_json_type(data)}"]
        )
    # 2. schema: every problem, one line each
    problems = [f"{source}: {problem}" for problem in schema_problems(data)]
    if problems:
        raise InvalidBrief(problems)
    # 3. the brief
    title = data["title"]
    items = tuple(
        BriefItem(entry["kind"], {k: v for k, v in entry.items() if k != "kind"}, index)
        for index, entry in enumerate(data["generators"])
    )
    return Brief(data["name"], check_title_name(title) if isinstance(title, str) else title, items, source)


def schema_problems(data: Any) -> list[str]:
    """One line per problem (``location: message``), [] when valid. The order is the schema's:
    missing and unknown fields of a mapping first, then its fields, list items in order."""
    validator = _BriefValidator(brief_schema())
    lines = [
        f"{_location(path)}: {message}"
        for error in validator.iter_errors(data)
        for path, message in _explain(error)
    ]
    return list(dict.fromkeys(lines))


def plan_jobs(brief: Brief) -> list[JobSpec]:
    """Every job the brief asks for, in brief order, each exactly once."""
    from generators import get_kind

    seen: set[str] = set()
    jobs: list[JobSpec] = []
    for item in brief.items:
        for params in get_kind(item.kind).fan_out(item.params):
            spec = JobSpec(item.kind, brief.title, params)
            key = _canonical_json(spec.key_material())
            if key not in seen:
                seen.add(key)
                jobs.append(spec)
    return jobs


# -- YAML ---------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, message: str, mark: Any = None):
        super().__init__(message)
        self.mark = mark


_WRITE_OUT = "write the value out"


class BriefYamlLoader(yaml.SafeLoader):
    """SafeLoader for briefs: YAML 1.2 core scalars only; no anchors, aliases or explicit tags;
    string keys, each once; at most ``MAX_DEPTH`` levels."""

    yaml_implicit_resolvers: dict = {}  # filled below with the YAML 1.2 core schema

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _Refused(f"YAML aliases (*{event.anchor}) are not allowed in a brief; {_WRITE_OUT}", event.start_mark)
        event = self.peek_event()
        if isinstance(event, NodeEvent) and event.anchor is not None:
            raise _Refused(f"YAML anchors (&{event.anchor}) are not allowed in a brief; {_WRITE_OUT}", event.start_mark)
        tag = getattr(event, "tag", None)
        if tag is not None:
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            raise _Refused(f"YAML tags ({shown}) are not allowed in a brief", event.start_mark)
        nested = isinstance(event, CollectionStartEvent)
        if nested:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):
            raise _Refused("expected a mapping", node.start_mark)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise _Refused(f"mapping keys are text, not {_json_type(key)} ({_quote(key)})", key_node.start_mark)
            if key in mapping:
                raise _Refused(f"duplicate key {key!r}", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node):
        value = self.construct_scalar(node)
        try:
            number = _yaml12_int(value)
        except ValueError as exc:
            raise _Refused(f"bad integer {_quote(value)}: {exc}", node.start_mark) from None
        if not -MAX_INT <= number <= MAX_INT:
            raise _Refused(f"integer {_quote(value)} is out of range (at most {MAX_INT})", node.start_mark)
        return number

    def construct_yaml_float(self, node):
        value = self.construct_scalar(node)
        number = float(value)
        if not math.isfinite(number):
            raise _Refused(f"number {_quote(value)} is out of range", node.start_mark)
        return number

    def construct_undefined(self, node):
        raise _Refused(f"YAML tag {node.tag!r} is not allowed in a brief", node.start_mark)


def _yaml12_int(value: str) -> int:
    sign = -1 if value.startswith("-") else 1
    digits = value.lstrip("+-")
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8)
    return sign * int(digits, 10)


# YAML 1.2 core schema: exact spellings of booleans (so `no`, `on`, `y` stay strings), decimal
# 0o/0x integers (so `010` is 10 and `1:20` a string), finite floats; no timestamps, no merge keys
for _tag, _regexp, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$", list("-+.0123456789")),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    BriefYamlLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), _first)
BriefYamlLoader.add_constructor("tag:yaml.org,2002:int", BriefYamlLoader.construct_yaml_int)
BriefYamlLoader.add_constructor("tag:yaml.org,2002:float", BriefYamlLoader.construct_yaml_float)
BriefYamlLoader.add_constructor(None, BriefYamlLoader.construct_undefined)


def _parse_yaml(text: str, source: str) -> Any:
    loader = None
    try:
        loader = BriefYamlLoader(text)  # the reader refuses control characters here
        return loader.get_single_data()
    except _Refused as exc:
        raise InvalidBrief([f"{source}: {_at(exc.mark)}{exc}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise InvalidBrief([f"{source}: {_at(mark)}not valid YAML: {what}"]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise InvalidBrief(
            [f"{source}: line {line}, column {column}: {_describe_char(chr(exc.character))} is not allowed in YAML "
             "text (write it as an escape in double quotes, if at all)"]
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidBrief([f"{source}: not valid YAML: {_one_line(str(exc))}"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _at(mark: Any) -> str:
    return "" if mark is None else f"line {mark.line + 1}, column {mark.column + 1}: "


# -- JSON ---------------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


def _json_depth(text: str) -> int:
    """Deepest bracket nesting outside strings (checked before parsing: Python's JSON parser
    recurses, and a megabyte of '[' would exhaust the stack)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise _Refused(f"duplicate key {key!r} in one object")
        mapping[key] = value
    return mapping


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    # checked on the digits first: Python refuses to convert more than 4,300 of them anyway
    if len(text.lstrip("-")) > 19 or not -MAX_INT <= int(text) <= MAX_INT:
        raise _Refused(f"integer {_quote(text)} is out of range (at most {MAX_INT})")
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _Refused(f"number {_quote(text)} is out of range")
    return number


def _parse_json(text: str, source: str) -> Any:
    if not text.strip():
        return None
    if _json_depth(text) > MAX_DEPTH:
        raise InvalidBrief([f"{source}: nested deeper than {MAX_DEPTH} levels"])
    try:
        return json.loads(
            text, object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except _Refused as exc:
        raise InvalidBrief([f"{source}: {exc}"]) from None
    except json.JSONDecodeError as exc:
        raise InvalidBrief([f"{source}: line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"]) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4300 digits
        raise InvalidBrief([f"{source}: not valid JSON: {_one_line(str(exc))}"]) from None


# -- error messages -----------------------------------------------------------------------------

_TYPE_NAMES = {
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "array": "a list",
    "object": "a mapping",
    "boolean": "true or false",
    "null": "null",
}


def _explain(error: jsonschema.ValidationError) -> Iterator[tuple[tuple, str]]:
    """(path, message) for each problem one schema error stands for."""
    path = tuple(error.absolute_path)
    schema, instance, kind = error.schema, error.instance, error.validator
    if kind == "required":
        present = instance if isinstance(instance, dict) else {}
        for name in error.validator_value:
            if name not in present:
                yield path + (name,), "required field is missing"
    elif kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        for name in instance:
            if name not in allowed:
                yield path + (name,), f"unknown field (allowed: {', '.join(allowed)})"
    elif kind == "enum":
        noun = schema.get("x-noun", "allowed value")
        yield path, f"{_quote(instance)} is not a known {noun} (known: {', '.join(map(str, error.validator_value))})"
    elif kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        yield path, f"expected {' or '.join(_TYPE_NAMES[t] for t in wanted)}, got {_describe(instance)}"
    elif kind in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            yield path, f"must be from {low} to {high}, got {instance}"
        else:
            bound = "at least" if kind == "minimum" else "at most"
            yield path, f"must be {bound} {error.validator_value}, got {instance}"
    elif kind in ("minItems", "maxItems"):
        bound = "at least" if kind == "minItems" else "at most"
        noun = "item" if error.validator_value == 1 else "items"
        yield path, f"must list {bound} {error.validator_value} {noun}, got {len(instance)}"
    elif kind in ("minLength", "maxLength"):
        if kind == "minLength" and not instance:
            yield path, "must not be empty"
        else:
            bound = "at least" if kind == "minLength" else "at most"
            yield path, f"must be {bound} {error.validator_value} characters, got {len(instance)}"
    elif kind == "const":
        yield path, f"must be {_quote(error.validator_value)}, got {_describe(instance)}"
    else:  # our own keywords carry finished messages; anything else, jsonschema's words
        yield path, _one_line(error.message)


def _location(path: tuple) -> str:
    if not path:
        return "(top level)"
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = ((str, "text"), (int, "an integer"), (float, "a number"), (list, "a list"), (dict, "a mapping"))
    return next((name for python, name in names if isinstance(value, python)), type(value).__name__)


def _describe(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return _json_type(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {_quote(value)}"
    return f"{_json_type(value)} {_quote(value)}"


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _describe_char(ch: str) -> str:
    return f"a control character (U+{ord(ch):04X})" if ch.isascii() or ord(ch) < 0xA0 else f"U+{ord(ch):04X}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


__all__ = [
    "Brief",
    "BriefItem",
    "BriefYamlLoader",
    "InvalidBrief",
    "JobSpec",
    "MAX_BRIEF_BYTES",
    "MAX_DEPTH",
    "brief_kinds",
    "brief_schema",
    "generator_params",
    "load_brief",
    "parse_brief",
    "plan_jobs",
    "schema_problems",
]
