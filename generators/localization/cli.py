"""Command line of the localized kind: ``workbench strings import FILE [--json]`` (a Typer app the
core mounts through :meth:`LocalizationKind.cli_apps`) and ``workbench localize TITLE`` (the
kind's friendly command: the options that build its parameters; the CLI adds TITLE and --json)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated

import typer

from generators.localization.kind import LocalizedParams
from workbench.errors import InvalidInput, WorkbenchError

strings_app = typer.Typer(help="Translated promo strings (XLIFF 1.2/2.0, PO, CSV, JSON).", no_args_is_help=True)


@strings_app.callback()
def strings_group() -> None:
    """Translated promo strings (XLIFF 1.2/2.0, PO, CSV, JSON)."""


@strings_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="An .xlf/.xliff, .po, .csv or .json strings file, or a folder of them (a PO file per locale).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Check and store a strings file (or a folder of them, merged); report what was found per locale (flags one line each)."""
    # imported here: workbench.cli's package imports every kind's commands (this module among them)
    from generators.localization.store import import_strings
    from workbench.cli.output import emit_json, fail, say

    try:
        sha256, report = import_strings(file)
    except WorkbenchError as exc:  # one line, exit 2, as every workbench command
        fail(exc, as_json)
    if as_json:
        emit_json({"sha256": sha256, **report.to_dict()})
        return
    for line in report.lines():
        say(line)
    say(f"stored as {sha256} (workbench localize TITLE --strings {sha256})")


def latest_strings() -> str:
    """The sha256 of the strings set imported last (for ``localize`` without ``--strings``)."""
    import sqlalchemy as sa

    from generators.localization.store import (
        ASSET_KIND,
        STRINGS_EXT,
        STRINGS_MIME,
        load_strings,
    )
    from workbench.catalog import open_catalog
    from workbench.catalog.models import Asset

    with open_catalog().session() as session:
        rows = session.scalars(sa.select(Asset.sha256).where(Asset.kind == ASSET_KIND, Asset.mime == STRINGS_MIME,
                                                             Asset.ext == STRINGS_EXT).order_by(Asset.id.desc()).limit(20)).all()
    for sha in rows:
        try:
            load_strings(sha)
            return sha
        except InvalidInput:
            continue
    raise InvalidInput("no strings imported yet: give --strings FILE (or run `workbench strings import FILE`)")


SHA256 = re.compile(r"[0-9a-f]{64}")


def strings_reference(value: str | None, *, option: str = "--strings") -> str | None:
    """The sha256 of the strings set an option names: a file or folder (imported now), the
    sha256 of a set imported before, or ``last`` (the set imported last); None stays None."""
    if value is None:
        return None
    if value == "last":
        return latest_strings()
    if SHA256.fullmatch(value):
        return value
    path = Path(value)
    if not path.exists():
        raise InvalidInput(f"{option}: {value!r} is neither a strings file or folder, the sha256 of an imported set, nor 'last'")
    from generators.localization.store import import_strings

    return import_strings(path)[0]


def localize(
    strings: Annotated[str | None, typer.Option(help="A strings file or folder to import, or the sha256 of a set imported before (default: the last imported).")] = None,
    locales: Annotated[str | None, typer.Option(help="Comma-separated locales (default: every locale of the set).")] = None,
    formats: Annotated[str | None, typer.Option(help="Comma-separated placements: 16x9, 2x3, 1x1, 9x16 (default: all).")] = None,
    segment: Annotated[str, typer.Option(help="The audience segment whose best frame is the base.")] = "action",
    date_style: Annotated[str, typer.Option(help="long (12 December) or short (12 Dec).")] = "long",
) -> LocalizedParams:
    """Localized key art per locale and placement, with QA flags (overflow, missing glyphs, contrast...)."""
    kwargs: dict = {"segment": segment, "date_style": date_style}
    if locales:
        kwargs["locales"] = tuple(s.strip() for s in locales.split(",") if s.strip())
    if formats:
        kwargs["formats"] = tuple(s.strip() for s in formats.split(",") if s.strip())
    probe = LocalizedParams(strings="0" * 64, **kwargs)
    probe.check()  # before anything is read or stored
    return LocalizedParams(strings=strings_reference(strings or "last"), **kwargs)


KINDS_LOCALIZED = ("thumbnail", "trailer")


def localize_batch(
    title: Annotated[str, typer.Argument(help="The title's name or id.")],
    strings: Annotated[str | None, typer.Option(help="A strings file or folder to import, or the sha256 of a set imported before (default: the last imported).")] = None,
    locales: Annotated[str | None, typer.Option(help="Comma-separated locales (default: every locale of the set).")] = None,
    kinds: Annotated[str, typer.Option(help="What to localize, comma-separated: thumbnail (key art), trailer (cards in the locale's copy).")] = "thumbnail",
    formats: Annotated[str | None, typer.Option(help="Key-art placements: 16x9, 2x3, 1x1, 9x16 (default: all).")] = None,
    segment: Annotated[str, typer.Option(help="The audience segment whose best frame (or cut) is the base.")] = "action",
    trailer_durations: Annotated[str, typer.Option(help="Trailer lengths in seconds, comma-separated.")] = "30",
    trailer_formats: Annotated[str, typer.Option(help="Trailer formats: 16x9, 9x16, 1x1.")] = "16x9",
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Localize a title in batch: key art per locale and placement and/or trailers whose cards carry
    each locale's copy, with QA flags; one failing locale is reported and the others still made.
    --json lists every variant with its file, locale and QA flags."""
    from generators.localization.store import load_strings
    from generators.params import IntList
    from generators.trailers.kind import TrailerParams
    from workbench import workflow
    from workbench.cli.output import Bar, emit_json, fail, say

    try:
        wanted = tuple(k.strip() for k in kinds.split(",") if k.strip())
        unknown = sorted(set(wanted) - set(KINDS_LOCALIZED))
        if unknown or not wanted:
            raise InvalidInput(f"--kinds: unknown {', '.join(unknown) or '(none)'}; known: {', '.join(KINDS_LOCALIZED)}")
        art = localize(strings=strings, locales=locales, formats=formats, segment=segment)
        codes = art.locales or load_strings(art.strings).codes
        trailer_common = {"segments": (segment,), "durations": IntList(6, 180).from_text("trailer_durations", trailer_durations),
                          "formats": tuple(f.strip() for f in trailer_formats.split(",") if f.strip()), "strings": art.strings}
        if "trailer" in wanted:
            for code in codes:  # every locale checked before any is made
                TrailerParams(**trailer_common, locale=code).check()
    except WorkbenchError as exc:
        fail(exc, as_json)
    variants: list[dict] = []
    problems: list[dict] = []

    def run(kind: str, params, locale: str | None) -> None:
        """One locale of one kind: a progress bar while it renders, its lines as soon as it is done."""
        try:
            with Bar(f"{locale} {kind}", enabled=not as_json) as bar:
                result = workflow.generate(kind, title, params, on_step=bar)
        except WorkbenchError as exc:
            problems.append({"kind": kind, "locale": locale, "error": " ".join(str(exc).split())})
            if not as_json:
                say(f"{locale or '-':<8} {kind:<10} not made: {problems[-1]['error']}", err=True)
            return
        made = [{"kind": kind, "variant_id": v.variant_id, "version": v.version, "locale": v.locale, "format": v.format,
                 "file": str(v.path), "qa_flags": list(v.qa_flags), "reused": v.reused} for v in result.variants]
        variants.extend(made)
        if not as_json:
            for v in made:
                say(f"{v['locale'] or '-':<8} {v['kind']:<10} {v['format'] or '-':<8} #{v['variant_id']} v{v['version']}"
                    f"  {', '.join(v['qa_flags']) or 'ok'}  {v['file']}")

    if "thumbnail" in wanted:
        for code in codes:  # one job per locale, as a brief fans out: a failing locale stops nothing
            run("localized", dataclasses.replace(art, locales=(code,)), code)
    if "trailer" in wanted:
        for code in codes:
            run("trailer", TrailerParams(**trailer_common, locale=code), code)
    if as_json:
        emit_json({"title": title, "variants": variants, "problems": problems})
    if problems and not variants:
        raise InvalidInput(f"nothing localized: {problems[0]['error']}")
