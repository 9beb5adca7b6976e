"""What the command line prints, in one place: every user- or file-supplied string is printed as
text, never as markup.

Rich's markup (``[bold]``, ``[link=…]``, ``:smile:``) is off on both consoles, so a login name
``[/x]`` or a title ``[link=http://evil]`` prints as typed; control characters (a terminal escape
sequence in a manifest's ingredient title, say) are shown as ``\\x1b`` escapes instead of being
sent to the terminal. Our own emphasis goes through ``style=``, never through markup.

Errors the workbench raises on purpose print as one line and exit 2 (:func:`fail`); ``--json``
prints them as ``{"error": …, "type": …}``.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from workbench.errors import WorkbenchError
from workbench.ids import parse_id

console = Console(markup=False, emoji=False, highlight=False)
err_console = Console(stderr=True, markup=False, emoji=False, highlight=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AsOpt = Annotated[str | None, typer.Option("--as", help="Act as this user (default: your OS user's account; on a fresh install, you as admin).")]


# Bidirectional overrides and isolates reorder what follows them on screen (a "Trojan Source" trick).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def plain(value: Any) -> str:
    """``value`` as printable text: control characters (other than line breaks and tabs) and
    bidirectional overrides become visible escapes, so no text from a user or a file can drive the
    terminal or reorder a line. Everything else (every script, joiners, emoji) prints as is."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if (unicodedata.category(ch) in ("Cc", "Zl", "Zp") and ch not in "\n\t") or ch in _BIDI_CONTROLS
        else ch
        for ch in text
    )


def say(*parts: Any, style: str | None = None, err: bool = False) -> None:
    """One line of output: the parts joined by spaces, each as plain text."""
    (err_console if err else console).print(Text(" ".join(plain(p) for p in parts), style=style or ""), soft_wrap=True)


def styled(*pieces: tuple[Any, str | None] | str) -> Text:
    """A line built from (text, style) pieces (a bare string is unstyled), each as plain text."""
    out = Text()
    for piece in pieces:
        text, style = (piece, None) if isinstance(piece, str) else piece
        out.append(plain(text), style=style or "")
    return out


def line(*pieces: tuple[Any, str | None] | str) -> None:
    """One styled line (see :func:`styled`), never wrapped."""
    console.print(styled(*pieces), soft_wrap=True)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], styles: dict[int, Callable[[Any], str | None]] | None = None) -> None:
    """A table whose every cell is plain text; ``styles`` maps a column index to a function of the
    cell's value giving its style (e.g. a state's colour)."""
    t = Table()
    for name in columns:
        t.add_column(name, overflow="fold")  # long values wrap whole, never cut short with an ellipsis
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            style = styles[i](value) if styles and i in styles else None
            cells.append(Text(plain(value), style=style or ""))
        t.add_row(*cells)
    console.print(t)


def jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), indent=2, ensure_ascii=False) + "\n")


def fail(exc: WorkbenchError | str, as_json: bool = False) -> NoReturn:
    """Print a refusal as one line (or JSON) and exit 2."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if as_json:
        emit_json({"error": message, "type": type(exc).__name__ if isinstance(exc, BaseException) else "WorkbenchError"})
    else:
        err_console.print(styled(("error: ", "bold red"), message), soft_wrap=True)  # one line, never wrapped
    raise typer.Exit(2)


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """A command whose deliberate refusals (:class:`WorkbenchError`) print as one line, exit 2."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except WorkbenchError as exc:
            fail(exc, bool(kwargs.get("as_json")))

    run.__signature__ = inspect.signature(command, eval_str=True)  # type: ignore[attr-defined]
    return run


def ids(texts: Iterable[str], what: str) -> list[int]:
    """Ids typed on the command line, each checked (ASCII digits, 1 to 2**63-1)."""
    return [parse_id(t, what) for t in texts]


class Bar:
    """A rich progress bar for long titles (silent with --json)."""

    def __init__(self, label: str, enabled: bool):
        self.progress = Progress(TextColumn(plain(label)), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                 console=err_console, transient=True, disable=not enabled)
        self.task = None

    def __enter__(self) -> Bar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, done: int, total: int | None) -> None:
        if self.task is None:
            self.task = self.progress.add_task("frames", total=total)
        self.progress.update(self.task, completed=done, total=total or done)
