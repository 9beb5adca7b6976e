"""CLI commands for review, users, audit and export: ``register(app)`` adds them to the
``workbench`` Typer app (``workbench/cli.py``). Thin callers of :mod:`workbench.users`,
:mod:`workbench.review` and :mod:`workbench.export`, in the style of ``workbench/cli.py``:
``--json`` everywhere, one-line errors with exit 2.

Who acts: ``--as NAME`` (a user in the catalog), else the OS user's own account, else, on a fresh
install with no admin yet, the OS user as admin (see :func:`workbench.users.resolve_cli_actor`).
Passwords are never taken from the command line: they are prompted for (twice), or read from
standard input with ``--password-stdin``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from workbench.errors import InvalidInput, WorkbenchError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AsOpt = Annotated[str | None, typer.Option("--as", help="Act as this user (default: your OS user's account; on a fresh install, you as admin).")]


# Shared with workbench/cli.py, imported when a command runs (cli.py imports this module).
def _emit_json(value: Any) -> None:
    from workbench.cli import _emit_json as emit

    emit(value)


def _fail(exc: WorkbenchError, as_json: bool) -> NoReturn:
    from workbench.cli import _fail as fail

    fail(exc, as_json)
    raise AssertionError("unreachable")  # _fail always raises typer.Exit


def _console():
    from workbench.cli import console

    return console


def _actor(name: str | None):
    from workbench.users import resolve_cli_actor

    return resolve_cli_actor(name)


# -- users ------------------------------------------------------------------------------------


def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="creative, localization, ad_ops or admin.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")] = False,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a local account (admins only; the first account on a fresh install needs no admin)."""
    from workbench import users

    try:
        # 1. check everything the password prompt does not depend on, so a typo fails first
        users.check_name(name)
        users.check_role(role)
        by = _actor(as_user)
        # 2. the password: stdin or a hidden prompt with confirmation, never argv
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        view = users.add_user(name, role, password, by=by)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(view)
        return
    _console().print(f"added user [bold]{view.name}[/] ({view.role})", highlight=False)


def users_list(as_json: JsonOpt = False) -> None:
    """List the local accounts."""
    from workbench import users

    try:
        rows = users.list_users()
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(rows)
        return
    table = Table("id", "name", "role", "state", "created")
    for u in rows:
        table.add_row(str(u.id), u.name, u.role, "disabled" if u.disabled else "active", u.created_at[:19])
    _console().print(table)


def users_disable(name: str, as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Disable an account and end its sessions (admins only)."""
    _user_change(lambda users, by: users.disable_user(name, by=by), as_user, as_json)


def users_enable(name: str, as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Enable a disabled account (admins only)."""
    _user_change(lambda users, by: users.enable_user(name, by=by), as_user, as_json)


def users_role(name: str, role: str, as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Change an account's role (admins only)."""
    _user_change(lambda users, by: users.set_role(name, role, by=by), as_user, as_json)


def _user_change(change, as_user: str | None, as_json: bool) -> None:
    from workbench import users

    try:
        view = change(users, _actor(as_user))
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(view)
        return
    _console().print(f"{view.name}: {view.role}, {'disabled' if view.disabled else 'active'}", highlight=False)


# -- review decisions -------------------------------------------------------------------------


def approve(
    ids: Annotated[list[int], typer.Argument(help="Variant ids.")],
    comment: Annotated[str | None, typer.Option(help="Optional comment.")] = None,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve variants (all or none)."""
    _decide("approve", ids, comment, as_user, as_json)


def reject(
    ids: Annotated[list[int], typer.Argument(help="Variant ids.")],
    comment: Annotated[str, typer.Option(help="Why (required).")],
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject variants, saying why."""
    _decide("reject", ids, comment, as_user, as_json)


def request_changes(
    ids: Annotated[list[int], typer.Argument(help="Variant ids.")],
    comment: Annotated[str, typer.Option(help="What to change (required).")],
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask for a new version of variants, saying what to change."""
    _decide("request_changes", ids, comment, as_user, as_json)


def _decide(decision: str, ids: list[int], comment: str | None, as_user: str | None, as_json: bool) -> None:
    from workbench import review

    try:
        events = review.decide(_actor(as_user), ids, decision, comment)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(events)
        return
    done = {"approve": "approved", "reject": "rejected", "request_changes": "changes requested for"}[decision]
    who = f"{events[0].actor} ({events[0].role})"
    _console().print(f"{done} {len(events)} variant(s) as {who}: {', '.join(str(e.variant_id) for e in events)}", highlight=False)


# -- export -----------------------------------------------------------------------------------


def export(
    out: Annotated[Path, typer.Option("--out", help="Folder the export (a folder and a zip) is written into.")],
    title: Annotated[str | None, typer.Option(help="Only this title (name or id).")] = None,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export approved variants for ad servers: re-verified, resized to IAB and pause-ad specs,
    re-signed, zipped with a manifest. Exit 1 when any variant was blocked."""
    from workbench.export import export_approved

    try:
        result = export_approved(_actor(as_user), out, title=title)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json({**_jsonable_result(result), "verify_share": round(result.verify_share, 4)})
    else:
        console = _console()
        console.print(f"exported {result.variants} variant(s) as {len(result.files)} file(s) in {result.seconds:.2f}s "
                      f"(verification {result.verify_seconds:.2f}s)", highlight=False)
        if result.blocked:
            table = Table("variant", "blocked because")
            for vid, reason in result.blocked:
                table.add_row(str(vid), reason)
            console.print(table)
        console.print(f"zip: [bold]{result.zip_path}[/]", highlight=False)
    raise typer.Exit(1 if result.blocked else 0)


def _jsonable_result(result) -> dict[str, Any]:
    return {
        "zip_path": str(result.zip_path), "folder": str(result.folder), "variants": result.variants,
        "files": [{"file": f.arcname, "variant_id": f.variant_id, "delivery": f.delivery, "width": f.width,
                   "height": f.height, "sha256": f.sha256, "resigned": f.resigned} for f in result.files],
        "blocked": [{"variant_id": vid, "reason": reason} for vid, reason in result.blocked],
        "seconds": round(result.seconds, 3), "verify_seconds": round(result.verify_seconds, 3),
    }


# -- audit ------------------------------------------------------------------------------------


def _when(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--{name} {text!r}: give an ISO date or time, e.g. 2026-11-25 or 2026-11-25T14:00Z") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def audit(
    action: Annotated[str | None, typer.Option(help="Action, or a prefix such as 'review' or 'login'.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only events by this user name.")] = None,
    title: Annotated[str | None, typer.Option(help="Only events of this title (name or id).")] = None,
    variant: Annotated[int | None, typer.Option(help="Only events of this variant id.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO; UTC when no offset).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO; UTC when no offset).")] = None,
    limit: Annotated[int, typer.Option(help="Most events to show.")] = 200,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write the events to this CSV file.")] = None,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The audit trail, newest first."""
    from workbench import review

    try:
        events = review.audit_events(_actor(as_user), action=action, actor=actor, title=title, variant_id=variant,
                                     since=_when(since, "since"), until=_when(until, "until"), limit=limit)
        if csv_file is not None:
            try:
                csv_file.write_text(review.audit_csv(events), encoding="utf-8", newline="")
            except OSError as e:
                raise InvalidInput(f"cannot write {csv_file}: {e.strerror}") from None
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(events)
        return
    console = _console()
    table = Table("at", "actor", "role", "action", "title", "variant", "comment")
    for e in events:
        table.add_row(e.at[:19], e.actor, e.role, e.action, e.title_name or "-",
                      "-" if e.variant_id is None else str(e.variant_id), (e.comment or "")[:80])
    console.print(table)
    if csv_file is not None:
        console.print(f"{len(events)} event(s) written to {csv_file}", highlight=False)


# -- the review UI ----------------------------------------------------------------------------


def review_ui(
    port: Annotated[int, typer.Option(help="Port of the review app.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
) -> None:
    """Start the Streamlit review app (until Ctrl-C)."""
    from ui.launch import serve

    try:
        code = serve(port=port, address=address)
    except (WorkbenchError, ValueError) as exc:
        _fail(exc if isinstance(exc, WorkbenchError) else InvalidInput(str(exc)), False)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the review, users, audit and export commands to ``app``."""
    users_app = typer.Typer(no_args_is_help=True, help="Local accounts of the review UI (admins manage them).")
    users_app.command("add")(users_add)
    users_app.command("list")(users_list)
    users_app.command("disable")(users_disable)
    users_app.command("enable")(users_enable)
    users_app.command("role")(users_role)
    app.add_typer(users_app, name="users")
    app.command("approve")(approve)
    app.command("reject")(reject)
    app.command("request-changes")(request_changes)
    app.command("export")(export)
    app.command("audit")(audit)
    app.command("review")(review_ui)
