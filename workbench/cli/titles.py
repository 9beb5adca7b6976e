"""Titles: ingest, list, analyse, rights, and verifying any file's C2PA manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from workbench.cli.output import AsOpt, Bar, JsonOpt, emit_json, guarded, line, say, table
from workbench.errors import InvalidInput


@guarded
def ingest(path: Path, title: Annotated[Optional[str], typer.Option(help="Title name (default: file name).")] = None,
           as_json: JsonOpt = False) -> None:
    """Probe a video or still, store it by content hash and add it to the catalog."""
    from workbench import workflow

    result = workflow.ingest(path, title)
    if as_json:
        emit_json(result)
        return
    i = result.info
    what = f"{i.width}x{i.height}" + (f", {i.duration:.2f}s @ {i.fps:.3f} fps, {i.video_codec}" if i.kind == "video" else "")
    audio = f", audio {i.audio_codec}" if i.has_audio else (", no audio" if i.kind == "video" else "")
    verb = "ingested" if result.created else "already ingested"
    line(f"{verb} title ", (result.title_id, "bold"),
                         f" {result.title_name!r}: {i.kind} {what}{audio}; sha256 {result.sha256[:16]}…")


@guarded
def titles(as_json: JsonOpt = False) -> None:
    """List the titles in the catalog."""
    from workbench.catalog import open_catalog, repo

    with open_catalog().session() as session:
        rows = [
            {"id": t.id, "name": t.name, "kind": t.source_asset.kind, "width": t.source_asset.width,
             "height": t.source_asset.height, "duration_s": t.source_asset.duration_s, "sha256": t.source_asset.sha256}
            for t in repo.list_titles(session)
        ]
    if as_json:
        emit_json(rows)
        return
    table(("id", "name", "kind", "size", "duration"),
          ((r["id"], r["name"], r["kind"], f"{r['width']}x{r['height']}",
            f"{r['duration_s']:.1f}s" if r["duration_s"] else "-") for r in rows))


@guarded
def analyze(title: str, force: Annotated[bool, typer.Option(help="Ignore the cached analysis.")] = False,
            as_json: JsonOpt = False) -> None:
    """Shots, keyframes and their features (cached by the source's hash)."""
    from workbench import workflow

    with Bar("analysing", not as_json) as bar:
        result = workflow.analyze_title(title, force=force, progress=bar)
    a = result.analysis
    if as_json:
        emit_json({"title_id": result.title_id, "title": result.title_name, "cached": result.cached,
                   "seconds": round(result.seconds, 3), "analysis": a.to_dict()})
        return
    say(f"title {result.title_id} {result.title_name!r}: {a.frame_count} frames, {len(a.shots)} shots, "
        f"{len(a.keyframes)} keyframes{' (cached)' if result.cached else ''} in {result.seconds:.2f}s")
    by_shot: dict[int, list[str]] = {}
    for k in a.keyframes:
        flags = f" {','.join(k.flags)}" if k.flags else ""
        by_shot.setdefault(k.shot, []).append(f"{k.frame}: {k.face_count}f {' '.join(k.features.tags[:3])}{flags}")
    table(("shot", "frames", "time", "motion", "LUFS", "keyframes (frame: faces, tags, flags)"),
          ((s.index, f"{s.start_frame}-{s.end_frame - 1}", f"{s.start_time:.2f}-{s.end_time:.2f}", f"{s.motion:.3f}",
            "-" if s.loudness_lufs is None else f"{s.loudness_lufs:.1f}", "\n".join(by_shot.get(s.index, [])))
           for s in a.shots))
    for t in a.transitions:
        say(f"{t.kind} at frame {t.start_frame}" + (f"-{t.end_frame}" if t.end_frame != t.start_frame else ""))


@guarded
def rights(
    title: str,
    ai_treatments: Annotated[Optional[str], typer.Option("--ai-treatments", help="allowed or denied: may diffusion models treat this title's frames?")] = None,
    markets: Annotated[Optional[str], typer.Option(help="Comma-separated markets the clearance covers (ISO 3166 codes, WW for worldwide).")] = None,
    note: Annotated[Optional[str], typer.Option(help="Where the clearance comes from (contract, ticket).")] = None,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or set a title's rights record (talent-likeness and licence clearances for AI treatments)."""
    from workbench import rights as rights_mod
    from workbench.access import require
    from workbench.users import resolve_cli_actor

    if ai_treatments is None:
        if markets is not None or note is not None:
            raise InvalidInput("--markets and --note go with --ai-treatments")
        record = rights_mod.get_rights(title)
    else:
        actor = require(resolve_cli_actor(as_user), "rights")
        record = rights_mod.set_rights(title, ai_treatments, (markets or "").split(","), note, actor=actor.name,
                                       role=actor.role)
    if as_json:
        emit_json(record.to_dict())
        return
    where = ", ".join(record.markets) or "all markets"
    origin = "" if record.source == "record" else " (no record: the default)"
    say(f"{title}: AI treatments {record.ai_treatments} in {where}{origin}")


@guarded
def verify(file: Path, as_json: JsonOpt = False) -> None:
    """Verify a file's C2PA manifest: exit 0 when Valid or Trusted, 1 otherwise."""
    from workbench import workflow

    report = workflow.verify(file)
    ok = report.state in ("Valid", "Trusted")
    if as_json:
        emit_json(report)
    else:
        line((report.state, "green" if ok else "red"), " ", str(file))
        for code in report.codes:
            say(f"  {code}")
        if report.manifest is not None:
            m = report.manifest
            say(f"  signed by {m.issuer or '-'}; claim generator {m.claim_generator}")
            for a in m.actions:
                say(f"  action {a.action}" + (f" ({a.digital_source_type})" if a.digital_source_type else ""))
            for ing in m.ingredients:
                say(f"  ingredient {ing.relationship}: {ing.title}")
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    for command in (ingest, titles, analyze, rights, verify):
        app.command()(command)
