"""The demo, and the diffusion model of this machine's GPU workers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.output import JsonOpt, emit_json, guarded, line, say, table
from workbench.errors import InvalidInput


@guarded
def demo(as_json: JsonOpt = False) -> None:
    """The whole flow on a generated sample title, ending with a contact sheet."""
    from workbench.demo import run_demo

    result = run_demo(progress=None if as_json else say)
    if as_json:
        emit_json(result)
        return
    table(("segment", "format", "variant", "score", "file"),
          ((p["segment"], p["format"], p["variant_id"], f"{p['score']:.3f}", p["file"]) for p in result.picks))
    line("\ncontact sheet: ", (result.contact_sheet, "bold"))


diffusion_app = typer.Typer(no_args_is_help=True, help="The diffusion model of this machine's GPU workers.")


@diffusion_app.command("info")
@guarded
def diffusion_info(as_json: JsonOpt = False) -> None:
    """Load the configured model (WORKBENCH_DIFFUSION_MODEL) and show model, device, dtype and memory."""
    from generators.diffusion.backend import get_backend
    from workbench.settings import get_settings

    settings = get_settings()
    if not settings.diffusion_model:
        info = {"model": None, "note": "no model configured: treatments run classically (set WORKBENCH_DIFFUSION_MODEL)"}
        emit_json(info) if as_json else say(info["note"])
        return
    backend = get_backend(settings)
    data = {**backend.info.to_dict(), "memory": backend.memory(), "batch": backend.batch, "steps": backend.default_steps}
    if as_json:
        emit_json(data)
        return
    table(("setting", "value"), ((k, json.dumps(v) if isinstance(v, dict) else v) for k, v in data.items()))


@diffusion_app.command("tiny")
@guarded
def diffusion_tiny(dest: Path, seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed of the random weights.")] = 0,
                   as_json: JsonOpt = False) -> None:
    """Write a tiny random-weight model (diffusers format) to DEST, for smoke tests without a real model."""
    from generators.diffusion.tiny import build_tiny_model

    if dest.exists() and any(dest.iterdir()):
        raise InvalidInput(f"{dest} exists and is not empty")
    path = build_tiny_model(dest, seed)
    emit_json({"model": str(path)}) if as_json else say(f"tiny model written to {path}: WORKBENCH_DIFFUSION_MODEL={path}")


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.add_typer(diffusion_app, name="diffusion")
