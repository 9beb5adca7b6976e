"""``workbench`` command line: thin callers of the library, one module per noun.

- :mod:`.output`: the one place that prints (plain text, never markup), JSON, one-line errors.
- :mod:`.titles` ingest, titles, analyze, rights, verify · :mod:`.generate` the per-kind commands
  · :mod:`.jobs` worker, run, jobs, cancel, retry · :mod:`.review` users, decisions, audit, the
  review UI · :mod:`.export` · :mod:`.system` demo, diffusion.

Every command takes ``--json`` for scripts. Errors the workbench raises on purpose print as one
line (no traceback) and exit 2; ``verify`` exits 1 for a file that does not verify.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from workbench.cli import export, generate, jobs, review, system, titles
from workbench.settings import get_settings, reset_settings_cache

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_show_locals=False,
                  help="Creative Workbench: analyse titles, generate signed creative variants.")


@app.callback()
def main(home: Annotated[Optional[Path], typer.Option("--home", help="Workbench home (default $WORKBENCH_HOME or ./.workbench).")] = None) -> None:
    if home is not None:
        os.environ["WORKBENCH_HOME"] = str(home)
        reset_settings_cache()
    _sweep_dead_temps()


def _sweep_dead_temps() -> None:
    """Every command starts by clearing what killed runs left (a few directory listings)."""
    from workbench import scratch

    try:
        scratch.sweep(get_settings().home)
    except Exception as exc:  # housekeeping never stops a command
        logging.getLogger(__name__).warning("event=sweep_failed reason=%s", exc)


for module in (titles, generate, jobs, review, export, system):
    module.register(app)
