"""Translated promo strings in: XLIFF 1.2 and 2.0, gettext PO, CSV and JSON, as one typed
:class:`StringsSet` (a source locale and its translations), checked into a :class:`StringsReport`.

Every locale has the same five fields (:data:`FIELDS`): ``title``, ``tagline``,
``call_to_action``, ``date`` and ``legal``. ``date`` is the availability date: the source gives it
as an ISO date (``2026-12-12``); a translation gives a phrasing template such as ``Ab {date}``
(or the ISO date again, meaning just the date), and ``{date}`` is formatted per locale by
:mod:`generators.localization.dates` at render time.

How each format names the fields:

- **XLIFF 1.2** ``<file source-language target-language>``, one ``<trans-unit id="title">`` (or
  ``resname``) per field with ``<source>`` and ``<target>``; several ``<file>`` elements may hold
  several target locales. **XLIFF 2.0** ``<xliff srcLang trgLang>``, ``<unit id="title">`` with
  ``<segment><source>/<target>``. Inline placeholders (``<x equiv-text>``, ``<ph equiv disp>``)
  become their text. XML is parsed with defusedxml: a DTD, an entity declaration or an external
  reference refuses the file (billion laughs, XXE).
- **PO**: one file per target locale (the ``Language`` header; the source locale from
  ``X-Source-Language``, default ``en``); ``msgctxt`` is the field, ``msgid`` the source text,
  ``msgstr`` the translation.
- **CSV**: either a header ``locale,title,tagline,...`` with one row per locale (the first row is
  the source), or a header ``key,<source>,<locale>,...`` with one row per field.
- **JSON**: ``{"source_locale": "en", "locales": {"en": {"title": ...}, "de": {...}}}``.
- **a folder** of any of these (a translation vendor's delivery: a PO or XLIFF file per locale):
  merged into one set when they agree on the source (:func:`merge_sets`).

Text is kept literal (markup, ``%{}`` or ffmpeg filter syntax are just characters: nothing here or
in the renderer interprets them) but bounded: a file over :data:`MAX_FILE_BYTES` is refused before
it is read, a field over :data:`MAX_FIELD_CHARS` is cut (``too_long``), control characters other
than a line break are dropped (``control_characters``) and so are bidirectional overrides and
isolates (``bidi_controls``), which would reorder the rendered line.

Problems with one locale are flags in the report (one line each): ``untranslated``,
``placeholder_mismatch``, ``preshaped_input`` (Arabic presentation forms: text shaped before it
got here, which raqm would shape again into garbage) and the three above. Problems with the file
(not parseable, a bad locale code, a hostile XML construct) raise :class:`InvalidInput`, one line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from workbench.errors import InvalidInput

FIELDS: tuple[str, ...] = ("title", "tagline", "call_to_action", "date", "legal")
Format = Literal["xliff12", "xliff20", "po", "csv", "json"]
MAX_FILE_BYTES = 4 * 1024 * 1024  # a promo's strings for 100 locales are a few hundred KB
MAX_FIELD_CHARS = 400
MAX_LOCALES = 200
MAX_FOLDER_BYTES = 4 * MAX_FILE_BYTES  # a folder of files (a PO file per locale), all together
SUFFIXES: dict[str, str] = {".xlf": "xliff", ".xliff": "xliff", ".po": "po", ".csv": "csv", ".json": "json"}

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|%\([A-Za-z_][A-Za-z0-9_]*\)[sdif]|%[sdif]")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
XLIFF12_NS = "urn:oasis:names:tc:xliff:document:1.2"
XLIFF20_NS = "urn:oasis:names:tc:xliff:document:2.0"


# -- the types -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocaleStrings:
    """One locale's copy; None where the file gives no text for a field."""

    locale: str
    title: str | None = None
    tagline: str | None = None
    call_to_action: str | None = None
    date: str | None = None
    legal: str | None = None

    def get(self, name: str) -> str | None:
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        return {"locale": self.locale, **{f: self.get(f) for f in FIELDS}}


@dataclass(frozen=True)
class Flag:
    """One problem with one locale's field: a QA flag code and a line a localization lead reads."""

    code: str
    locale: str
    field: str | None
    message: str

    def line(self) -> str:
        where = f"{self.locale}" + (f".{self.field}" if self.field else "")
        return f"{where}: {self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "locale": self.locale, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class StringsSet:
    """A source locale's strings and their translations (the source is also in ``locales``)."""

    source_locale: str
    locales: tuple[LocaleStrings, ...]
    format: str
    availability: str | None = None  # ISO date the source's ``date`` gives
    sanitized: tuple[Flag, ...] = ()  # what was cut or dropped while reading (see the module docstring)

    @property
    def source(self) -> LocaleStrings:
        return self.get(self.source_locale)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(s.locale for s in self.locales)

    def get(self, locale: str) -> LocaleStrings:
        for s in self.locales:
            if s.locale == locale:
                return s
        raise InvalidInput(f"no strings for locale {locale!r}; the set has {', '.join(self.codes)}")

    def to_dict(self) -> dict[str, Any]:
        return {"source_locale": self.source_locale, "format": self.format, "availability": self.availability,
                "locales": {s.locale: {f: s.get(f) for f in FIELDS} for s in self.locales},
                "sanitized": [f.to_dict() for f in self.sanitized]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StringsSet:
        """The normalised document :meth:`to_dict` wrote (the stored form)."""
        try:
            locales = tuple(LocaleStrings(code, **{f: v.get(f) for f in FIELDS}) for code, v in data["locales"].items())
            flags = tuple(Flag(**f) for f in data.get("sanitized") or ())
            return cls(data["source_locale"], locales, data.get("format", "json"), data.get("availability"), flags)
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"not a normalised strings document ({exc})") from None


@dataclass(frozen=True)
class LocaleReport:
    locale: str
    name: str  # the locale's name in English ("German (Germany)")
    is_source: bool
    present: tuple[str, ...]  # fields with text
    flags: tuple[Flag, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"locale": self.locale, "name": self.name, "is_source": self.is_source, "present": list(self.present),
                "flags": [f.to_dict() for f in self.flags]}


@dataclass(frozen=True)
class StringsReport:
    """What an import found, per locale: ``workbench strings import FILE [--json]``."""

    file: str
    format: str
    source_locale: str
    availability: str | None
    locales: tuple[LocaleReport, ...]

    @property
    def flags(self) -> tuple[Flag, ...]:
        return tuple(f for r in self.locales for f in r.flags)

    def flags_of(self, locale: str) -> tuple[str, ...]:
        """The distinct flag codes of one locale, in first-seen order."""
        return tuple(dict.fromkeys(f.code for r in self.locales if r.locale == locale for f in r.flags))

    def lines(self) -> list[str]:
        out = [f"{self.file}: {self.format}, source {self.source_locale}, {len(self.locales)} locales, "
               f"{len(self.flags)} flags" + (f", available {self.availability}" if self.availability else "")]
        for r in self.locales:
            codes = ", ".join(self.flags_of(r.locale)) or "ok"
            out.append(f"  {r.locale:<10} {r.name[:32]:<32} {len(r.present)}/{len(FIELDS)} fields  {codes}")
        out.extend(f"  {f.line()}" for f in self.flags)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "source_locale": self.source_locale,
                "availability": self.availability, "locales": [r.to_dict() for r in self.locales]}


# -- locales ---------------------------------------------------------------------------------------


def normalize_locale(code: Any) -> str:
    """A locale code as BCP 47 (``pt-BR``, ``zh-Hant``, ``es-419``), checked against CLDR with
    Babel; InvalidInput naming the code otherwise."""
    from babel import Locale, UnknownLocaleError

    if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}", code.strip()):
        raise InvalidInput(f"bad locale code {str(code)[:40]!r}: expected a BCP 47 tag such as de, pt-BR, zh-Hant")
    try:
        loc = Locale.parse(code.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise InvalidInput(f"unknown locale {code!r}: CLDR (Babel) has no such locale") from None
    parts = [loc.language]
    if loc.script:
        parts.append(loc.script)
    if loc.territory:
        parts.append(loc.territory)
    return "-".join(parts)


def babel_locale(code: str):
    from babel import Locale

    return Locale.parse(code.replace("-", "_"))


def locale_name(code: str) -> str:
    try:
        return babel_locale(code).get_display_name("en") or code
    except (ValueError, LookupError):  # a name is a nicety
        return code


# -- reading ---------------------------------------------------------------------------------------


def read_strings(path: Path | str) -> tuple[StringsSet, StringsReport]:
    """Parse and check a strings file (see the module docstring)."""
    strings = parse_strings(path)
    return strings, check_strings(strings, file=Path(path).name)


def parse_strings(path: Path | str) -> StringsSet:
    """A strings file (or a folder of them, see :func:`strings_files`) as a :class:`StringsSet`;
    InvalidInput (one line) when it cannot be one."""
    path = Path(path)
    if path.is_dir():
        return merge_sets([(f.name, parse_strings(f)) for f in strings_files(path)], path.name)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput(f"{path.name}: not a strings file; expected {', '.join(SUFFIXES)}")
    try:
        size = path.stat().st_size
    except OSError:
        raise InvalidInput(f"{path.name}: no such file") from None
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path.name}: {size / 1e6:.1f} MB is too big for a strings file (at most {MAX_FILE_BYTES // (1024 * 1024)} MiB)")
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:  # it grew while we looked
        raise InvalidInput(f"{path.name}: too big for a strings file (at most {MAX_FILE_BYTES // (1024 * 1024)} MiB)")
    return parse_strings_bytes(data, kind, name=path.name)


def strings_files(folder: Path) -> list[Path]:
    """The strings files of a translation delivery folder (a PO file per locale, say): the files
    directly in it with a strings suffix (hidden ones and subfolders skipped), sorted; refused, one
    line, when there are none, too many, or too many bytes in all, before any is read."""
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in SUFFIXES and not p.name.startswith(".") and p.is_file())
    if not files:
        raise InvalidInput(f"{folder.name}: a folder with no strings files ({', '.join(SUFFIXES)})")
    if len(files) > MAX_LOCALES:
        raise InvalidInput(f"{folder.name}: {len(files)} strings files; at most {MAX_LOCALES} in one folder")
    total = sum(p.stat().st_size for p in files)
    if total > MAX_FOLDER_BYTES:
        raise InvalidInput(f"{folder.name}: {total / 1e6:.1f} MB of strings files is too much for one import "
                           f"(at most {MAX_FOLDER_BYTES // (1024 * 1024)} MiB)")
    return files


def merge_sets(parts: list[tuple[str, StringsSet]], name: str) -> StringsSet:
    """One set from the files of one delivery: the same source locale in each, the same source
    text wherever two give it, and each translation in one file only (else one line naming both
    files). The availability date is the source's, so it agrees too."""
    if not parts:
        raise InvalidInput(f"{name}: no strings files")
    first_file, first = parts[0]
    source = first.source_locale
    source_text: dict[str, str | None] = dict.fromkeys(FIELDS)
    source_from: dict[str, str] = {}
    targets: dict[str, tuple[str, LocaleStrings]] = {}
    for file, s in parts:
        if s.source_locale != source:
            raise InvalidInput(f"{name}: {file} translates from {s.source_locale}, {first_file} from {source}")
        for f in FIELDS:
            text = s.source.get(f)
            if text is None:
                continue
            if source_text[f] is not None and source_text[f] != text:
                raise InvalidInput(f"{name}: the source {f} differs between {source_from[f]} and {file}")
            source_text[f], source_from[f] = text, source_from.get(f, file)
        for loc in s.locales:
            if loc.locale == source:
                continue
            if loc.locale in targets:
                raise InvalidInput(f"{name}: {loc.locale} is in both {targets[loc.locale][0]} and {file}")
            targets[loc.locale] = (file, loc)
    if len(targets) + 1 > MAX_LOCALES:
        raise InvalidInput(f"{name}: {len(targets) + 1} locales; at most {MAX_LOCALES} in one import")
    formats = sorted({s.format for _, s in parts})
    availability = next((s.availability for _, s in parts if s.availability), None)
    sanitized = tuple(dict.fromkeys(flag for _, s in parts for flag in s.sanitized))  # a source's, once
    locales = (LocaleStrings(source, **source_text), *(targets[c][1] for c in sorted(targets)))
    return StringsSet(source, locales, formats[0] if len(formats) == 1 else "+".join(formats), availability, sanitized)


def parse_strings_bytes(data: bytes, kind: str, *, name: str = "strings") -> StringsSet:
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{name}: too big for a strings file (at most {MAX_FILE_BYTES // (1024 * 1024)} MiB)")
    if kind == "xliff":
        fmt, source, rows = _xliff(data, name)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{name}: not UTF-8 text (byte {exc.start})") from None
        if kind == "po":
            fmt, (source, rows) = "po", _po(text, name)
        elif kind == "csv":
            fmt, (source, rows) = "csv", _csv(text, name)
        elif kind == "json":
            fmt, (source, rows) = "json", _json(text, name)
        else:
            raise InvalidInput(f"{name}: unknown strings format {kind!r}")
    return _assemble(fmt, source, rows, name)


def _assemble(fmt: str, source: str, rows: dict[str, dict[str, Any]], name: str) -> StringsSet:
    """Locale codes normalised, text bounded and cleaned, the availability date read."""
    source = normalize_locale(source)
    if len(rows) > MAX_LOCALES:
        raise InvalidInput(f"{name}: {len(rows)} locales; at most {MAX_LOCALES} in one file")
    cleaned: dict[str, dict[str, str | None]] = {}
    flags: list[Flag] = []
    for raw_code, values in rows.items():
        code = normalize_locale(raw_code)
        target = cleaned.setdefault(code, {f: None for f in FIELDS})
        for f in FIELDS:
            value = values.get(f)
            if value is None:
                continue
            if not isinstance(value, str):
                raise InvalidInput(f"{name}: {code}.{f} must be text, got {type(value).__name__}")
            text, problems = clean_text(value)
            flags.extend(Flag(code_, code, f, msg) for code_, msg in problems)
            if text.strip():
                target[f] = text
    if source not in cleaned:
        raise InvalidInput(f"{name}: no strings for the source locale {source}")
    availability = None
    src_date = cleaned[source]["date"]
    if src_date is not None:
        if not _ISO_DATE.match(src_date.strip()):
            raise InvalidInput(f"{name}: the source's date must be an ISO date (yyyy-mm-dd), got {src_date[:40]!r}")
        try:
            availability = dt.date.fromisoformat(src_date.strip()).isoformat()
        except ValueError:
            raise InvalidInput(f"{name}: the source's date {src_date!r} is not a calendar date") from None
    order = [source, *sorted(c for c in cleaned if c != source)]
    locales = tuple(LocaleStrings(c, **cleaned[c]) for c in order)
    return StringsSet(source, locales, fmt, availability, tuple(flags))


def clean_text(value: str) -> tuple[str, list[tuple[str, str]]]:
    """``value`` bounded and stripped of what would drive a terminal or reorder the line; what was
    done, as (flag, message) pairs. Everything else stays literal."""
    problems: list[tuple[str, str]] = []
    if len(value) > MAX_FIELD_CHARS:
        problems.append(("too_long", f"{len(value)} characters, cut to {MAX_FIELD_CHARS}"))
        value = value[:MAX_FIELD_CHARS]
    value = value.replace("\r\n", "\n").replace("\t", " ")
    controls = [ch for ch in value if unicodedata.category(ch) == "Cc" and ch != "\n"]
    if controls:
        problems.append(("control_characters", (f"dropped {len(controls)} control character(s) "
                                                f"({', '.join(sorted({f'U+{ord(c):04X}' for c in controls})[:4])})")))
        value = "".join(ch for ch in value if not (unicodedata.category(ch) == "Cc" and ch != "\n"))
    bidi = [ch for ch in value if ch in _BIDI_CONTROLS]
    if bidi:
        problems.append(("bidi_controls", f"dropped {len(bidi)} bidirectional override/isolate character(s)"))
        value = "".join(ch for ch in value if ch not in _BIDI_CONTROLS)
    lines = [ln.strip() for ln in value.strip().split("\n")]
    return "\n".join(ln for ln in lines if ln)[:MAX_FIELD_CHARS], problems


# -- XLIFF -----------------------------------------------------------------------------------------


def _parse_xml(data: bytes, name: str):
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeET

    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        what = type(exc).__name__.replace("Forbidden", "").lower() or "construct"
        raise InvalidInput(f"{name}: refused: the XML declares a {what} (DTDs, entities and external references "
                           "are not allowed in strings files)") from None
    except SafeET.ParseError as exc:
        raise InvalidInput(f"{name}: not well-formed XML ({exc})") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _inline_text(el) -> str:
    """An element's text with inline placeholder elements replaced by the text they stand for."""
    parts = [el.text or ""]
    for child in el:
        tag = _local(child.tag)
        if tag in ("x", "ph", "bx", "ex", "sc", "ec"):
            parts.append(child.get("equiv-text") or child.get("equiv") or child.get("disp") or "")
        elif tag in ("mrk", "g", "pc", "sub"):
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _unit_field(unit) -> str | None:
    for key in (unit.get("id"), unit.get("resname"), unit.get("name")):
        if key in FIELDS:
            return key
    return None


def _xliff(data: bytes, name: str) -> tuple[str, str, dict[str, dict[str, Any]]]:
    root = _parse_xml(data, name)
    if _local(root.tag) != "xliff":
        raise InvalidInput(f"{name}: not an XLIFF document (root element <{_local(root.tag)}>)")
    version = root.get("version", "")
    rows: dict[str, dict[str, Any]] = {}
    if version.startswith("2"):
        source = root.get("srcLang")
        target = root.get("trgLang")
        if not source:
            raise InvalidInput(f"{name}: XLIFF 2.0 needs srcLang on <xliff>")
        src_row, tgt_row = rows.setdefault(source, {}), rows.setdefault(target, {}) if target else None
        for unit in root.iter(f"{{{XLIFF20_NS}}}unit"):
            key = _unit_field(unit)
            if key is None:
                continue
            src = "".join(_inline_text(s) for s in unit.iter(f"{{{XLIFF20_NS}}}source"))
            tgts = list(unit.iter(f"{{{XLIFF20_NS}}}target"))
            src_row[key] = src
            if tgt_row is not None and tgts:
                tgt_row[key] = "".join(_inline_text(t) for t in tgts)
        return "xliff20", source, rows
    if version.startswith("1"):
        source = None
        files = root.findall(f"{{{XLIFF12_NS}}}file") or root.findall("file")
        if not files:
            raise InvalidInput(f"{name}: XLIFF 1.2 with no <file>")
        for file_el in files:
            src_lang, tgt_lang = file_el.get("source-language"), file_el.get("target-language")
            if not src_lang:
                raise InvalidInput(f"{name}: XLIFF 1.2 <file> needs source-language")
            if source is not None and src_lang != source:
                raise InvalidInput(f"{name}: <file> elements disagree on the source language ({source}, {src_lang})")
            source = src_lang
            src_row = rows.setdefault(src_lang, {})
            tgt_row = rows.setdefault(tgt_lang, {}) if tgt_lang else None
            for unit in file_el.iter():
                if _local(unit.tag) != "trans-unit":
                    continue
                key = _unit_field(unit)
                if key is None:
                    continue
                src_el = next((c for c in unit if _local(c.tag) == "source"), None)
                tgt_el = next((c for c in unit if _local(c.tag) == "target"), None)
                if src_el is not None:
                    src_row[key] = _inline_text(src_el)
                if tgt_row is not None and tgt_el is not None:
                    tgt_row[key] = _inline_text(tgt_el)
        return "xliff12", source, rows
    raise InvalidInput(f"{name}: unknown XLIFF version {version[:10]!r}; expected 1.2 or 2.0")


# -- PO, CSV, JSON ---------------------------------------------------------------------------------


def _po(text: str, name: str) -> tuple[str, dict[str, dict[str, Any]]]:
    import polib

    try:
        po = polib.pofile(text)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{name}: not a gettext PO file ({str(exc).splitlines()[0][:120]})") from None
    target = po.metadata.get("Language")
    if not target:
        raise InvalidInput(f"{name}: the PO header names no Language")
    source = po.metadata.get("X-Source-Language", "en")
    src_row: dict[str, Any] = {}
    tgt_row: dict[str, Any] = {}
    for entry in po:
        key = entry.msgctxt if entry.msgctxt in FIELDS else entry.msgid if entry.msgid in FIELDS else None
        if key is None or entry.obsolete:
            continue
        src_row[key] = entry.msgid
        if entry.msgstr and "fuzzy" not in entry.flags:  # a fuzzy entry is a guess, not a translation
            tgt_row[key] = entry.msgstr
    return source, {source: src_row, target: tgt_row}


def _csv(text: str, name: str) -> tuple[str, dict[str, dict[str, Any]]]:
    try:
        table = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InvalidInput(f"{name}: not CSV ({exc})") from None
    table = [row for row in table if any(cell.strip() for cell in row)]
    if len(table) < 2:
        raise InvalidInput(f"{name}: a header and at least one row are needed")
    header = [h.strip() for h in table[0]]
    first = header[0].lower()
    rows: dict[str, dict[str, Any]] = {}
    if first == "locale":
        unknown = [h for h in header[1:] if h not in FIELDS]
        if unknown:
            raise InvalidInput(f"{name}: unknown column {unknown[0][:40]!r}; expected locale, {', '.join(FIELDS)}")
        for row in table[1:]:
            rows[row[0].strip()] = {h: (row[i] if i < len(row) and row[i] != "" else None) for i, h in enumerate(header) if i}
        return table[1][0].strip(), rows
    if first in ("key", "field", "id"):
        locales = header[1:]
        if not locales:
            raise InvalidInput(f"{name}: no locale columns after {header[0]!r}")
        for code in locales:
            rows[code] = {}
        for row in table[1:]:
            key = row[0].strip()
            if key not in FIELDS:
                continue
            for i, code in enumerate(locales, 1):
                if i < len(row) and row[i] != "":
                    rows[code][key] = row[i]
        return locales[0], rows
    raise InvalidInput(f"{name}: the first column must be 'locale' (a row per locale) or 'key' (a row per field)")


def _json(text: str, name: str) -> tuple[str, dict[str, dict[str, Any]]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("locales"), dict) or not isinstance(doc.get("source_locale"), str):
        raise InvalidInput(f"{name}: expected {{\"source_locale\": \"en\", \"locales\": {{\"en\": {{\"title\": ...}}}}}}")
    rows: dict[str, dict[str, Any]] = {}
    for code, values in doc["locales"].items():
        if not isinstance(values, dict):
            raise InvalidInput(f"{name}: locales.{str(code)[:20]} must be an object of fields")
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise InvalidInput(f"{name}: locales.{code}: unknown field {unknown[0][:40]!r}; known: {', '.join(FIELDS)}")
        rows[code] = values
    return doc["source_locale"], rows


# -- checks ----------------------------------------------------------------------------------------


def placeholders(text: str | None) -> list[str]:
    """The placeholders in ``text`` (``{date}``, ``%s``, ``%(name)s``), sorted (``%%`` is not one)."""
    if not text:
        return []
    return sorted(_PLACEHOLDER.findall(text.replace("%%", "")))


def preshaped(text: str | None) -> list[str]:
    """Arabic presentation-form characters (U+FB50–U+FDFF, U+FE70–U+FEFF) in ``text``."""
    return [ch for ch in text or "" if 0xFB50 <= ord(ch) <= 0xFDFF or 0xFE70 <= ord(ch) <= 0xFEFF]


def source_template(strings: StringsSet, name: str) -> str | None:
    """The source's text of a field as a translation is compared with it (the date is ``{date}``)."""
    text = strings.source.get(name)
    if name == "date" and text is not None:
        return "{date}"
    return text


def date_template(text: str | None) -> str | None:
    """A translation's date field as a template: an ISO date alone means just the date."""
    if text is None:
        return None
    return "{date}" if _ISO_DATE.match(text.strip()) else text


def check_strings(strings: StringsSet, *, file: str = "strings") -> StringsReport:
    """One :class:`LocaleReport` per locale, its flags one line each."""
    src_lang = strings.source_locale.split("-")[0]
    reports = []
    for loc in strings.locales:
        is_source = loc.locale == strings.source_locale
        flags = [f for f in strings.sanitized if f.locale == loc.locale]
        present = tuple(f for f in FIELDS if loc.get(f))
        for name in FIELDS:
            text = loc.get(name)
            if name == "date":
                text = date_template(text) if not is_source else ("{date}" if text else None)
            src = source_template(strings, name)
            if is_source:
                if text and (bad := preshaped(text)):
                    flags.append(Flag("preshaped_input", loc.locale, name, f"{len(bad)} Arabic presentation form(s), e.g. U+{ord(bad[0]):04X}"))
                continue
            if src is None:
                continue
            if text is None:
                if name == "date":  # no phrasing: the formatted date alone
                    continue
                flags.append(Flag("untranslated", loc.locale, name, "no translation"))
                continue
            if name != "date" and text == src and loc.locale.split("-")[0] != src_lang and any(ch.isalpha() for ch in text):
                flags.append(Flag("untranslated", loc.locale, name, "identical to the source text"))
            if placeholders(text) != placeholders(src):
                flags.append(Flag("placeholder_mismatch", loc.locale, name,
                                  f"source has {', '.join(placeholders(src)) or 'none'}; translation has "
                                  f"{', '.join(placeholders(text)) or 'none'}"))
            if bad := preshaped(text):
                flags.append(Flag("preshaped_input", loc.locale, name,
                                  f"{len(bad)} Arabic presentation form(s), e.g. U+{ord(bad[0]):04X}: send unshaped text"))
        reports.append(LocaleReport(loc.locale, locale_name(loc.locale), is_source, present, tuple(flags)))
    return StringsReport(file, strings.format, strings.source_locale, strings.availability, tuple(reports))

