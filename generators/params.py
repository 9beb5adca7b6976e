"""Typed kind parameters whose bounds are written once.

A kind's parameters are a frozen dataclass whose fields carry a :class:`Spec` (``param(...)``).
From that one declaration come:

- the JSON Schema of a brief item (:meth:`KindParams.brief_properties`), with the ``x-noun`` and
  ``x-printable-line`` keywords the brief reader understands;
- the pure check that runs before any work (:meth:`KindParams.check`): one line naming the field;
- reading from and writing to job JSON (:meth:`KindParams.from_dict`, :meth:`KindParams.to_dict`),
  and from command-line text (:meth:`Spec.from_text`).

Fields whose spec says ``brief=False`` are internal (set by regeneration or the workflow) and are
refused in briefs.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from workbench.errors import InvalidInput
from workbench.ids import MAX_INT, shown

Known = Sequence[str] | Callable[[], Sequence[str]]


def _known(values: Known) -> tuple[str, ...]:
    return tuple(values() if callable(values) else values)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


@dataclass(frozen=True)
class Spec:
    """How one parameter is checked, described and read. Subclasses say what kind of value."""

    brief: bool = field(default=True, kw_only=True)  # accepted in a brief item
    help: str = field(default="", kw_only=True)

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, name: str, value: Any) -> None:
        raise NotImplementedError

    def from_json(self, value: Any) -> Any:
        return value

    def to_json(self, value: Any) -> Any:
        return value

    def from_text(self, name: str, text: str) -> Any:
        """The value as typed on a command line (``--set name=text``)."""
        return text


@dataclass(frozen=True)
class Choice(Spec):
    """One name out of a table (``engine: auto``)."""

    noun: str = ""
    values: Known = ()

    def schema(self) -> dict[str, Any]:
        return {"enum": list(_known(self.values)), "x-noun": self.noun}

    def check(self, name: str, value: Any) -> None:
        known = _known(self.values)
        if value not in known:
            raise InvalidInput(f"unknown {self.noun} {shown(value)}; known: {', '.join(known)}")


@dataclass(frozen=True)
class Names(Spec):
    """A non-empty list of names out of a table, each once (``segments: [action, romance]``).
    ``noun`` names one in errors (``unknown segment(s) 'x'``), ``brief_noun`` in a brief's."""

    noun: str = ""
    values: Known = ()
    brief_noun: str | None = None
    max_items: int = 100

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "maxItems": self.max_items,
                "items": {"enum": list(_known(self.values)), "x-noun": self.brief_noun or self.noun}}

    def check(self, name: str, value: Any) -> None:
        known = _known(self.values)
        if isinstance(value, str) or not isinstance(value, (tuple, list)) or not value:
            raise InvalidInput(f"{self.noun}s must be a non-empty tuple of names; known: {', '.join(known)}")
        if len(value) > self.max_items:
            raise InvalidInput(f"{name}: at most {self.max_items} {self.noun}s, got {len(value)}")
        unknown = [v for v in value if v not in known]
        if unknown:
            raise InvalidInput(f"unknown {self.noun}(s) {', '.join(map(shown, unknown))}; known: {', '.join(known)}")

    def from_json(self, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    def to_json(self, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    def from_text(self, name: str, text: str) -> Any:
        return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Int(Spec):
    low: int = -MAX_INT
    high: int = MAX_INT

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}

    def check(self, name: str, value: Any) -> None:
        if not _is_int(value) or not self.low <= value <= self.high:
            raise InvalidInput(f"{name} must be an integer from {self.low} to {self.high}, got {shown(value)}")

    def from_text(self, name: str, text: str) -> Any:
        text = text.strip()
        if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()) or len(text) > 20:
            raise InvalidInput(f"{name} must be an integer from {self.low} to {self.high}, got {shown(text)}")
        return int(text)


@dataclass(frozen=True)
class Number(Spec):
    """A finite number in ``low..high``; ``low_open`` excludes ``low`` itself ((0, 1])."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False

    def schema(self) -> dict[str, Any]:
        bound = {"exclusiveMinimum": self.low} if self.low_open else {"minimum": self.low}
        return {"type": "number", **bound, "maximum": self.high}

    def check(self, name: str, value: Any) -> None:
        ok = _is_number(value) and (value > self.low if self.low_open else value >= self.low) and value <= self.high
        if not ok:
            if self.low_open:
                raise InvalidInput(f"{name} must be in ({_num(self.low)}, {_num(self.high)}], got {shown(value)}")
            raise InvalidInput(f"{name} must be from {_num(self.low)} to {_num(self.high)}, got {shown(value)}")

    def from_text(self, name: str, text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            raise InvalidInput(f"{name} must be a number, got {shown(text)}") from None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class OptionalInt(Int):
    """An :class:`Int`, or None for "the default" (a brief leaves it out)."""

    def check(self, name: str, value: Any) -> None:
        if value is not None:
            super().check(name, value)


@dataclass(frozen=True)
class OptionalNumber(Number):
    """A :class:`Number`, or None for "the default"."""

    def check(self, name: str, value: Any) -> None:
        if value is not None:
            super().check(name, value)


@dataclass(frozen=True)
class Text(Spec):
    """One printable line of text, at most ``max_len`` characters (``None`` allowed when
    ``optional``). ``label`` is how messages name it ("the prompt")."""

    max_len: int = 200
    label: str | None = None
    min_len: int = 0
    optional: bool = True
    empty_hint: str | None = None  # said after "<label> is empty: "

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.min_len:
            out["minLength"] = self.min_len
        out.update({"maxLength": self.max_len, "x-printable-line": True})
        return out

    def check(self, name: str, value: Any) -> None:
        label = self.label or name
        if value is None:
            if not self.optional:
                raise InvalidInput(f"{label} is required")
            return
        if not isinstance(value, str):
            raise InvalidInput(f"{label} must be text, got {type(value).__name__}")
        if not value.strip():
            raise InvalidInput(f"{label} is empty" + (f": {self.empty_hint}" if self.empty_hint else ""))
        if len(value) > self.max_len or not value.isprintable():
            raise InvalidInput(f"{label} must be one printable line of at most {self.max_len} characters")


@dataclass(frozen=True)
class Boxes(Spec):
    """Normalised boxes ``[x, y, w, h]`` inside 0..1 (``regions``)."""

    max_items: int = 16
    noun: str = "region"

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "maxItems": self.max_items, "items": {
            "type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number", "minimum": 0, "maximum": 1}}}

    def check(self, name: str, value: Any) -> None:
        if not isinstance(value, (tuple, list)):
            raise InvalidInput(f"{name} must be a list of x, y, w, h boxes")
        if len(value) > self.max_items:
            raise InvalidInput(f"at most {self.max_items} {self.noun}s")
        for r in value:
            ok = (isinstance(r, (tuple, list)) and len(r) == 4 and all(_is_number(v) and 0.0 <= v <= 1.0 for v in r)
                  and r[2] > 0 and r[3] > 0 and r[0] + r[2] <= 1.0001 and r[1] + r[3] <= 1.0001)
            if not ok:
                raise InvalidInput(f"{self.noun} {list(r) if isinstance(r, (tuple, list)) else shown(r)} must be x, y, w, h inside 0..1")

    def from_json(self, value: Any) -> Any:
        if value is None:
            return ()
        try:
            return tuple(tuple(float(v) for v in r) for r in value)
        except (TypeError, ValueError):
            raise InvalidInput("regions must be lists of four numbers x, y, w, h") from None

    def to_json(self, value: Any) -> Any:
        return [list(r) for r in value]

    def from_text(self, name: str, text: str) -> Any:
        return self.from_json(json.loads(text))


@dataclass(frozen=True)
class IntList(Spec):
    """Integers, each in ``low..high`` (``durations: [15, 30, 60]``)."""

    low: int = -MAX_INT
    high: int = MAX_INT
    max_items: int = 100
    min_items: int = 1

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": self.min_items, "maxItems": self.max_items,
                "items": {"type": "integer", "minimum": self.low, "maximum": self.high}}

    def check(self, name: str, value: Any) -> None:
        if isinstance(value, str) or not isinstance(value, (tuple, list)) or not self.min_items <= len(value) <= self.max_items:
            raise InvalidInput(f"{name} must be {self.min_items} to {self.max_items} integers from {self.low} to {self.high}")
        for v in value:
            if not _is_int(v) or not self.low <= v <= self.high:
                raise InvalidInput(f"{name}: each must be an integer from {self.low} to {self.high}, got {shown(v)}")

    def from_json(self, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    def to_json(self, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    def from_text(self, name: str, text: str) -> Any:
        return tuple(Int(self.low, self.high).from_text(name, part) for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Internal(Spec):
    """A parameter the workflow or regeneration sets; never in a brief, never checked by type."""

    brief: bool = field(default=False, kw_only=True)

    def schema(self) -> dict[str, Any]:
        return {}

    def check(self, name: str, value: Any) -> None:
        return None

    def from_json(self, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    def to_json(self, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Nested(Spec):
    """Another KindParams dataclass as one parameter; ``shorthand`` lets a brief give just its
    ``shorthand_field`` as a string (``treatment: outpaint``)."""

    params: type = object
    shorthand_field: str | None = None

    def schema(self) -> dict[str, Any]:
        inner = {"type": "object", "additionalProperties": False, "properties": self.params.brief_properties()}
        required = [n for n, spec, default in self.params.field_specs() if spec.brief and default is _REQUIRED]
        if required:
            inner["required"] = required
        if self.shorthand_field is None:
            return inner
        short = self.params.spec_of(self.shorthand_field).schema()
        return {"oneOf": [{k: v for k, v in short.items() if k != "x-noun"}, inner]}

    def check(self, name: str, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, self.params):
            raise InvalidInput(f"{name} must be {self.params.__name__}")
        value.check()

    def from_json(self, value: Any) -> Any:
        if value is None or isinstance(value, self.params):
            return value
        if isinstance(value, str) and self.shorthand_field:
            return self.params(**{self.shorthand_field: value})
        if not isinstance(value, Mapping):
            raise InvalidInput(f"{self.params.__name__} must be a name or a mapping, got {type(value).__name__}")
        return self.params.from_dict(value)

    def to_json(self, value: Any) -> Any:
        return None if value is None else value.to_dict()

    def from_text(self, name: str, text: str) -> Any:
        text = text.strip()
        return self.from_json(json.loads(text) if text.startswith("{") else text)


_REQUIRED = dataclasses.MISSING


def param(default: Any = _REQUIRED, spec: Spec | None = None, *, default_factory: Callable[[], Any] | None = None) -> Any:
    """A dataclass field with its spec: ``top_k: int = param(3, Int(1, 10))``."""
    metadata = {"spec": spec}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    if default is _REQUIRED:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


class KindParams:
    """Mixin for a kind's (frozen dataclass) parameters; see the module docstring."""

    unknown_noun: ClassVar[str] = "parameter"  # "unknown thumbnail parameter(s): ..."

    @classmethod
    def field_specs(cls) -> list[tuple[str, Spec, Any]]:
        out = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            spec = f.metadata.get("spec") or Internal()
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else _REQUIRED)  # type: ignore[misc]
            out.append((f.name, spec, default))
        return out

    @classmethod
    def spec_of(cls, name: str) -> Spec:
        for n, spec, _ in cls.field_specs():
            if n == name:
                return spec
        raise KeyError(name)

    @classmethod
    def brief_properties(cls) -> dict[str, Any]:
        """The JSON Schema of each field a brief item may give."""
        return {name: spec.schema() for name, spec, _ in cls.field_specs() if spec.brief}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        """From job JSON: unknown keys refused, lists made tuples, nested params built."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"{cls.unknown_noun}s must be a mapping, got {type(data).__name__}")
        specs = {name: spec for name, spec, _ in cls.field_specs()}
        unknown = sorted(set(data) - set(specs))
        if unknown:
            raise InvalidInput(f"unknown {cls.unknown_noun}(s): {', '.join(unknown)}")
        return cls(**{k: specs[k].from_json(v) for k, v in data.items()})  # type: ignore[call-arg]

    def to_dict(self) -> dict[str, Any]:
        return {name: spec.to_json(getattr(self, name)) for name, spec, _ in self.field_specs()}

    def check(self) -> None:
        """Every field against its spec, in declaration order: the first problem, one line."""
        for name, spec, _ in self.field_specs():
            spec.check(name, getattr(self, name))
        self.check_together()

    def check_together(self) -> None:
        """Rules across fields (override)."""

    @classmethod
    def from_text(cls, pairs: Iterable[tuple[str, str]], base: Mapping[str, Any] | None = None):
        """From ``--set name=value`` pairs over ``base`` JSON."""
        data = dict(base or {})
        for name, text in pairs:
            try:
                spec = cls.spec_of(name)
            except KeyError:
                known = ", ".join(n for n, s, _ in cls.field_specs() if s.brief)
                raise InvalidInput(f"unknown {cls.unknown_noun} {name!r}; known: {known}") from None
            if not spec.brief:
                raise InvalidInput(f"{name} is set by the workbench, not on the command line")
            data[name] = spec.to_json(spec.from_text(name, text))
        return cls.from_dict(data)
