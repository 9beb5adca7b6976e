"""The ad-ops export from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.output import AsOpt, JsonOpt, emit_json, guarded, line, say, table


@guarded
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder the export (a folder and a zip) is written into.")],
    title: Annotated[str | None, typer.Option(help="Only this title (name or id).")] = None,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export approved variants for ad servers: re-verified, resized to IAB and pause-ad specs,
    re-signed, zipped with a manifest. Exit 1 when any variant was blocked."""
    from workbench.export import export_approved
    from workbench.users import resolve_cli_actor

    result = export_approved(resolve_cli_actor(as_user), out, title=title)
    if as_json:
        emit_json({**_jsonable_result(result), "verify_share": round(result.verify_share, 4)})
    else:
        say(f"exported {result.variants} variant(s) as {len(result.files)} file(s) in {result.seconds:.2f}s "
            f"(verification {result.verify_seconds:.2f}s)")
        if result.blocked:
            table(("variant", "blocked because"), result.blocked)
        line("zip: ", (result.zip_path, "bold"))
    raise typer.Exit(1 if result.blocked else 0)


def _jsonable_result(result) -> dict[str, Any]:
    return {
        "zip_path": str(result.zip_path), "folder": str(result.folder), "variants": result.variants,
        "files": [{"file": f.arcname, "variant_id": f.variant_id, "delivery": f.delivery, "width": f.width,
                   "height": f.height, "sha256": f.sha256, "resigned": f.resigned} for f in result.files],
        "blocked": [{"variant_id": vid, "reason": reason} for vid, reason in result.blocked],
        "seconds": round(result.seconds, 3), "verify_seconds": round(result.verify_seconds, 3),
    }


def register(app: typer.Typer) -> None:
    app.command()(export)
