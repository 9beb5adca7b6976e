"""Generating creatives: ``workbench generate KIND TITLE`` for any kind, and each kind's own
friendly command (``workbench thumbnails``...), which its folder contributes
(:meth:`generators.base.CreativeKind.cli_commands`)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from workbench.cli.output import Bar, JsonOpt, emit_json, guarded, say, table
from workbench.errors import InvalidInput


@guarded
def generate(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="A creative kind (see `workbench kinds`).")],
    title: Annotated[str, typer.Argument(help="Title name or id.")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="NAME=VALUE", help="A parameter (repeatable); lists are comma-separated.")] = None,
    params_json: Annotated[Optional[str], typer.Option("--params", metavar="JSON", help="All parameters as one JSON object (then --set on top).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a kind's variants of a title: signed, stored, catalogued, each in its slot."""
    from generators import get_kind

    creative = get_kind(kind)
    base = {}
    if params_json:
        try:
            base = json.loads(params_json)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--params is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    pairs = []
    for item in set_ or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--set {item!r}: give NAME=VALUE")
        pairs.append((name.strip(), value))
    params = creative.Params.from_text(pairs, base)
    run_and_print(creative.kind, title, params, as_json)


def run_and_print(kind: str, title: str, params, as_json: bool) -> None:
    """Generate and print the variants (a table, or JSON): shared by every kind's command."""
    from workbench import workflow

    with Bar("analysing", not as_json) as bar:
        result = workflow.generate(kind, title, params, progress=bar)
    if as_json:
        emit_json(result)
        return
    table(("segment", "locale", "slot", "score", "variant", "file"),
          ((v.segment or "-", v.locale or "-", _label(v.slot), f"{v.score:.3f}", f"{v.variant_id} v{v.version}", v.export_path)
           for v in result.variants))
    new = sum(not v.reused for v in result.variants)
    say(f"{len(result.variants)} signed variants ({new} new) for {result.title_name!r} in {result.seconds:.2f}s")


def _label(format_key: str) -> str:
    from workbench.creative import slot_label

    return slot_label(format_key)


@guarded
def kinds(as_json: JsonOpt = False) -> None:
    """The creative kinds this workbench makes, with their parameters."""
    from generators import kinds as registered

    rows = [{"kind": k.kind, "label": k.label, "version": k.version,
             "parameters": sorted(k.brief_properties()), "tweaks": [t.name for t in k.tweaks]}
            for k in registered().values()]
    if as_json:
        emit_json(rows)
        return
    table(("kind", "label", "version", "parameters", "regenerate tweaks"),
          ((r["kind"], r["label"], r["version"], ", ".join(r["parameters"]), ", ".join(r["tweaks"]) or "-") for r in rows))


def kind_command(kind: str, build: Callable[..., Any]) -> Callable[..., None]:
    """A command of TITLE, the kind's own options (``build``'s parameters) and --json, that
    builds the kind's parameters with ``build`` and runs the one generate path."""
    options = inspect.signature(build, eval_str=True).parameters.values()

    def command(title: str, as_json: bool = False, **values: Any) -> None:
        run_and_print(kind, title, build(**values), as_json)

    title = inspect.Parameter("title", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)
    as_json = inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOpt)
    command.__signature__ = inspect.Signature([title, *(o.replace(kind=inspect.Parameter.KEYWORD_ONLY) for o in options),
                                               as_json])  # type: ignore[attr-defined]
    command.__doc__ = build.__doc__
    command.__name__ = build.__name__
    return command


def register(app: typer.Typer) -> None:
    from generators import kinds as registered

    app.command()(generate)
    app.command()(kinds)
    mounted: set[str] = set()
    for creative in registered().values():
        for cmd in creative.cli_commands():
            app.command(cmd.name)(guarded(kind_command(creative.kind, cmd.build)))
        for name, group in creative.cli_apps():
            if name in mounted:  # two kinds may share one input group (products for every ad kind)
                continue
            if isinstance(group, typer.Typer):
                app.add_typer(group, name=name)
            else:  # a plain command of the kind's folder (``workbench ads`` over several kinds)
                app.command(name)(guarded(group))
            mounted.add(name)
