"""Review from the command line: users, decisions, the audit trail, comments and share links,
and the review UI.

Who acts: ``--as NAME`` (a user in the catalog), else the OS user's own account, else, on a fresh
install with no account yet, the OS user as admin (see :func:`workbench.users.resolve_cli_actor`).
Passwords are never taken from the command line: they are prompted for (twice), or read from
standard input with ``--password-stdin``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.output import AsOpt, JsonOpt, emit_json, guarded, ids, say, table
from workbench.errors import InvalidInput


def _actor(name: str | None):
    from workbench.users import resolve_cli_actor

    return resolve_cli_actor(name)


# -- users ------------------------------------------------------------------------------------


@guarded
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="creative, localization, ad_ops or admin.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")] = False,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a local account (admins only; the first account on a fresh install needs no admin)."""
    from workbench import users

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
    emit_json(view) if as_json else say(f"added user {view.name} ({view.role})")


@guarded
def users_list(as_json: JsonOpt = False) -> None:
    """List the local accounts."""
    from workbench import users

    rows = users.list_users()
    if as_json:
        emit_json(rows)
        return
    table(("id", "name", "role", "state", "created (UTC)", "last login (UTC)"),
          ((u.id, u.name, u.role, "disabled" if u.disabled else "active", u.created_at[:19],
            (u.last_login or "never")[:19]) for u in rows))


@guarded
def users_disable(name: str, as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Disable an account and end its sessions (admins only)."""
    from workbench import users

    _user_changed(users.disable_user(name, by=_actor(as_user)), as_json)


@guarded
def users_enable(name: str, as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Enable a disabled account (admins only)."""
    from workbench import users

    _user_changed(users.enable_user(name, by=_actor(as_user)), as_json)


@guarded
def users_role(name: str, role: str, as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Change an account's role (admins only)."""
    from workbench import users

    _user_changed(users.set_role(name, role, by=_actor(as_user)), as_json)


def _user_changed(view, as_json: bool) -> None:
    emit_json(view) if as_json else say(f"{view.name}: {view.role}, {'disabled' if view.disabled else 'active'}")


# -- review decisions -------------------------------------------------------------------------

IdsArg = Annotated[list[str], typer.Argument(metavar="IDS...", help="Variant ids.")]


@guarded
def approve(
    variant_ids: IdsArg,
    comment: Annotated[str | None, typer.Option(help="Optional comment (required to change an earlier decision).")] = None,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve variants (all or none)."""
    _decide("approve", variant_ids, comment, as_user, as_json)


@guarded
def reject(
    variant_ids: IdsArg,
    comment: Annotated[str, typer.Option(help="Why (required).")],
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject variants, saying why."""
    _decide("reject", variant_ids, comment, as_user, as_json)


@guarded
def request_changes(
    variant_ids: IdsArg,
    comment: Annotated[str, typer.Option(help="What to change (required).")],
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask for a new version of variants, saying what to change."""
    _decide("request_changes", variant_ids, comment, as_user, as_json)


def _decide(decision: str, variant_ids: list[str], comment: str | None, as_user: str | None, as_json: bool) -> None:
    from workbench import review

    events = review.decide(_actor(as_user), ids(variant_ids, "variant id"), decision, comment)
    if as_json:
        emit_json(events)
        return
    done = {"approve": "approved", "reject": "rejected", "request_changes": "changes requested for"}[decision]
    who = f"{events[0].actor} ({events[0].role})"
    say(f"{done} {len(events)} variant(s) as {who}: {', '.join(str(e.variant_id) for e in events)}")


# -- audit ------------------------------------------------------------------------------------


def _when(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--{name} {text!r}: give an ISO date or time, e.g. 2026-11-25 or 2026-11-25T14:00Z") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@guarded
def audit(
    action: Annotated[str | None, typer.Option(help="Action, or a prefix such as 'review' or 'login'.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only events by this user name.")] = None,
    title: Annotated[str | None, typer.Option(help="Only events of this title (name or id).")] = None,
    variant: Annotated[str | None, typer.Option(metavar="ID", help="Only events of this variant id.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO; UTC when no offset).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO; UTC when no offset).")] = None,
    limit: Annotated[int, typer.Option(help="Most events to show.")] = 200,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write the events to this CSV file.")] = None,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The audit trail, newest first."""
    from workbench import review
    from workbench.ids import parse_id

    events = review.audit_events(_actor(as_user), action=action, actor=actor, title=title,
                                 variant_id=None if variant is None else parse_id(variant, "variant id"),
                                 since=_when(since, "since"), until=_when(until, "until"), limit=limit)
    if csv_file is not None:
        try:
            csv_file.write_text(review.audit_csv(events), encoding="utf-8", newline="")
        except OSError as e:
            raise InvalidInput(f"cannot write {csv_file}: {e.strerror}") from None
    if as_json:
        emit_json(events)
        return
    table(("at", "actor", "role", "action", "title", "variant", "comment"),
          ((e.at[:19], e.actor, e.role, e.action, e.title_name or "-", "-" if e.variant_id is None else e.variant_id,
            (e.comment or "")[:80]) for e in events))
    if csv_file is not None:
        say(f"{len(events)} event(s) written to {csv_file}")


# -- comments and share links -------------------------------------------------------------------


def _pin(text: str | None):
    """``--pin x,y`` or ``x,y,w,h`` (fractions of the picture) as a Pin; the library checks it."""
    from workbench.comments import InvalidPin, Pin

    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidPin(f"--pin {text!r}: give x,y or x,y,w,h as fractions 0 to 1, e.g. 0.4,0.25") from None
    if len(values) not in (2, 4):
        raise InvalidPin(f"--pin {text!r}: give x,y (a point) or x,y,w,h (a box)")
    return Pin(*values)


def _time(at: str | None):
    """``--at S`` or ``S-E`` (seconds of the video) as a TimeRange; the library checks it."""
    from workbench.comments import InvalidTime, TimeRange

    if at is None:
        return None
    try:
        start, _, end = at.partition("-")
        return TimeRange(float(start), float(end) if end else None)
    except ValueError:
        raise InvalidTime(f"--at {at!r}: give seconds, e.g. 12.5, or a range 12.5-14") from None


@guarded
def comments_list(variant: Annotated[str, typer.Argument(metavar="VARIANT", help="Variant id.")],
                  as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """A variant's comment threads, oldest first, each with its replies."""
    from workbench import comments
    from workbench.ids import parse_id

    threads = comments.threads(_actor(as_user), parse_id(variant, "variant id"))
    if as_json:
        emit_json(threads)
        return
    rows = []
    for t in threads:
        for c in (t, *t.replies):
            where = ""
            if c.pin is not None:
                where = f"pin {c.pin.x:g},{c.pin.y:g}" + (f" box {c.pin.w:g}x{c.pin.h:g}" if c.pin.is_box else "")
            if c.time is not None:
                where = f"at {c.time.start:g}s" + (f"-{c.time.end:g}s" if c.time.end is not None else "")
            state = "resolved" if t.resolved else "open"
            rows.append((c.id if c is t else f"  ↳ {c.id}", c.at[:19], c.author, where or "-",
                         state if c is t else "", c.body))
    table(("comment", "at (UTC)", "author", "where", "thread", "text"), rows)
    if not threads:
        say("no comments yet")


@guarded
def comment_add(
    variant: Annotated[str, typer.Argument(metavar="VARIANT", help="Variant id.")],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The comment (@name mentions a user).")],
    at: Annotated[str | None, typer.Option("--at", metavar="S[-E]", help="On a video: seconds, or a range.")] = None,
    pin: Annotated[str | None, typer.Option("--pin", metavar="X,Y[,W,H]", help="On a still: a point or a box, fractions 0-1.")] = None,
    reply_to: Annotated[str | None, typer.Option("--reply-to", metavar="COMMENT", help="Reply to this comment's thread.")] = None,
    as_user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Comment on a variant (or reply to a thread): audited, mentions notified."""
    from workbench import comments
    from workbench.ids import parse_id

    made = comments.add_comment(_actor(as_user), parse_id(variant, "variant id"), text, pin=_pin(pin), time=_time(at),
                                parent_id=None if reply_to is None else parse_id(reply_to, "comment id"))
    if as_json:
        emit_json(made)
        return
    say(f"comment {made.id} added to variant {made.variant_id}"
        + (f" (mentions {', '.join(made.mentions)})" if made.mentions else ""))


@guarded
def shares_list(as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Every share link for outside reviewers, newest first (the tokens are never shown again)."""
    from workbench import shares

    links = shares.list_shares(_actor(as_user))
    if as_json:
        emit_json(links)
        return
    table(("id", "for", "access", "variants", "by", "expires (UTC)", "state"),
          ((s.id, s.label, s.access, ", ".join(map(str, s.variant_ids)), s.created_by, s.expires_at[:19], s.state)
           for s in links))


@guarded
def shares_revoke(share: Annotated[str, typer.Argument(metavar="ID", help="Share link id.")],
                  as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke a share link: it stops working at once."""
    from workbench import shares
    from workbench.ids import parse_id

    view = shares.revoke_share(_actor(as_user), parse_id(share, "share link id"))
    emit_json(view) if as_json else say(f"share link {view.id} for {view.label}: {view.state}")


# -- the review UI ----------------------------------------------------------------------------


@guarded
def review_ui(
    port: Annotated[int, typer.Option(help="Port of the review app.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
) -> None:
    """Start the Streamlit review app (until Ctrl-C or a termination signal)."""
    from ui.launch import serve

    try:
        code = serve(port=port, address=address)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the review, users and audit commands to ``app``."""
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
    app.command("audit")(audit)
    app.command("comments")(comments_list)
    app.command("comment")(comment_add)
    shares_app = typer.Typer(no_args_is_help=True, help="Share links for outside reviewers.")
    shares_app.command("list")(shares_list)
    shares_app.command("revoke")(shares_revoke)
    app.add_typer(shares_app, name="shares")
    app.command("review")(review_ui)
