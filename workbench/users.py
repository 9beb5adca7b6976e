"""Local accounts and login sessions for the review UI (and the CLI's ``--as NAME``).

- Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher`` defaults); a hash made
  with older parameters is replaced at the next successful login.
- A login hands out a random bearer token (``secrets.token_urlsafe(32)``); the catalog stores only
  its SHA-256. A session lasts ``settings.session_ttl_s`` from login (no sliding renewal), and
  ends early on logout or when its user is disabled. Role changes apply to live sessions at once
  (the role is read from the users table on every lookup).
- Unknown user and wrong password give the same message (and cost the same hash check), so the
  login page does not tell which names exist.
- Every login (success or failure), logout and user change is an audit event.

**Bootstrap.** Only an admin adds users, with one exception: while the catalog has no account at
all (a fresh install), ``add_user(..., by=None)`` is allowed, so the first account can be made
(``workbench users add NAME --role admin``). The CLI acts as the local OS user with the admin role
in that same state; see :func:`resolve_cli_actor`. Once any account exists the rule is off for
good: the last enabled admin can be neither demoted nor disabled (checked under a catalog lock, so
two admins demoting each other at once cannot both succeed), so a team is never left without one.
"""

from __future__ import annotations

import getpass
import hashlib
import math
import re
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from workbench.access import ROLES, Actor, PermissionDenied, require
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import LoginFailure, LoginSession, User, utcnow
from workbench.errors import InvalidInput, NotFound, WorkbenchError
from workbench.settings import Settings, get_settings

NAME_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
PASSWORD_MIN = 8
PASSWORD_MAX = 1024  # argon2 takes any length; this only bounds the work one request can ask for
TOKEN_MAX = 256
BAD_LOGIN = "unknown user or wrong password"
FAILURE_WINDOW_S = 15 * 60  # failed logins older than this are forgotten
FREE_FAILURES_PER_ACCOUNT = 5
FREE_FAILURES_PER_CLIENT = 20
MAX_WAIT_S = 300
USERS_LOCK = "users"  # held by every change that could leave no enabled admin, and by the bootstrap


class AuthenticationFailed(WorkbenchError):
    """A login that did not succeed (the message never says whether the name exists)."""


class LoginThrottled(AuthenticationFailed):
    """Too many failed logins for an account or from a client: wait ``retry_after_s`` seconds."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SessionExpired(WorkbenchError):
    """A session token that is unknown, expired, revoked, or whose user was disabled."""


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    role: str
    disabled: bool
    created_at: str  # ISO 8601, UTC
    last_login: str | None = None  # ISO 8601, UTC: the newest login session (None: never, or not asked)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to check unknown names against, so they cost as much as known ones."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _view(user: User) -> UserView:
    return UserView(user.id, user.name, user.role, user.disabled, user.created_at.isoformat())


def _find(session: Session, name: str) -> User | None:
    """The user with this name, compared without case (names differing only in case are refused)."""
    return session.scalars(sa.select(User).where(sa.func.lower(User.name) == name.lower())).one_or_none()


def _get(session: Session, name: str) -> User:
    user = _find(session, name) if isinstance(name, str) else None
    if user is None:
        raise NotFound(f"no user {name!r}; see `workbench users list`")
    return user


def _any_user(session: Session) -> bool:
    """Whether any account exists (enabled or not): the bootstrap rule holds only while none does."""
    return session.scalar(sa.select(User.id).limit(1)) is not None


def _enabled_admins(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(User).where(User.role == "admin", ~User.disabled)) or 0


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidInput(
            f"bad user name {name!r}: 1-64 characters from letters, digits and . _ @ - (an e-mail address works)"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise InvalidInput(f"password too short: at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"password too long: at most {PASSWORD_MAX} characters")
    return password


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- accounts ---------------------------------------------------------------------------------


def add_user(name: str, role: str, password: str, *, by: Actor | None, settings: Settings | None = None) -> UserView:
    """A new account. ``by`` must be an admin, except while no account exists at all (bootstrap)."""
    settings = settings or get_settings()
    # 1. check inputs (cheap, before hashing)
    check_name(name)
    check_role(role)
    check_password(password)
    if by is not None:
        require(by, "manage_users")
    # 2. hash outside the write transaction (argon2 takes tens of milliseconds on purpose)
    password_hash = _hasher().hash(password)
    with open_catalog(settings).session() as session:
        repo.take_lock(session, USERS_LOCK)
        if by is None and _any_user(session):
            raise PermissionDenied("only an admin may add users: sign in as one (CLI: --as NAME)")
        taken = _find(session, name)
        if taken is not None:
            raise InvalidInput(f"a user named {taken.name!r} already exists")
        user = User(name=name, role=role, password_hash=password_hash, disabled=False)
        session.add(user)
        session.flush()
        who = by or Actor(name, "admin")  # bootstrap: the first account is recorded as made by itself
        repo.record_audit(session, who.name, who.role, "user.add", details={"user": name, "role": role, "bootstrap": by is None})
        return _view(user)


def list_users(*, by: Actor | None = None, settings: Settings | None = None) -> list[UserView]:
    """Every account by name, with its role, whether it is enabled and when it last logged in
    (its newest login session). ``by``, when given, must be allowed to manage users (the Users
    page); the CLI, whose user can read the catalog anyway, lists without."""
    settings = settings or get_settings()
    if by is not None:
        require(by, "manage_users")
    with open_catalog(settings).session() as session:
        last = dict(session.execute(sa.select(LoginSession.user_id, sa.func.max(LoginSession.created_at))
                                    .group_by(LoginSession.user_id)).all())
        return [replace(_view(u), last_login=last[u.id].isoformat() if last.get(u.id) else None)
                for u in session.scalars(sa.select(User).order_by(User.name))]


def set_role(name: str, role: str, *, by: Actor, settings: Settings | None = None) -> UserView:
    """Change a user's role (admins only). The last enabled admin cannot be demoted."""
    settings = settings or get_settings()
    require(by, "manage_users")
    check_role(role)
    with open_catalog(settings).session() as session:
        repo.take_lock(session, USERS_LOCK)  # first: the admin count below cannot change under us
        user = _get(session, name)
        old = user.role
        if old == role:
            return _view(user)
        if old == "admin" and not user.disabled and _enabled_admins(session) <= 1:
            raise InvalidInput(f"{user.name} is the last enabled admin: make another admin first")
        user.role = role
        session.flush()
        repo.record_audit(session, by.name, by.role, "user.role", details={"user": user.name, "from": old, "to": role})
        return _view(user)


def disable_user(name: str, *, by: Actor, settings: Settings | None = None) -> UserView:
    """Disable an account and end its sessions (admins only). Users are never deleted: their
    names stay in the audit trail. The last enabled admin cannot be disabled."""
    settings = settings or get_settings()
    require(by, "manage_users")
    with open_catalog(settings).session() as session:
        repo.take_lock(session, USERS_LOCK)
        user = _get(session, name)
        if user.disabled:
            return _view(user)
        if user.role == "admin" and _enabled_admins(session) <= 1:
            raise InvalidInput(f"{user.name} is the last enabled admin: make another admin first")
        user.disabled = True
        ended = session.execute(
            sa.update(LoginSession).where(LoginSession.user_id == user.id, ~LoginSession.revoked).values(revoked=True)
        ).rowcount
        repo.record_audit(session, by.name, by.role, "user.disable", details={"user": user.name, "sessions_ended": ended})
        return _view(user)


def enable_user(name: str, *, by: Actor, settings: Settings | None = None) -> UserView:
    """Enable a disabled account again (admins only)."""
    settings = settings or get_settings()
    require(by, "manage_users")
    with open_catalog(settings).session() as session:
        user = _get(session, name)
        if user.disabled:
            user.disabled = False
            session.flush()
            repo.record_audit(session, by.name, by.role, "user.enable", details={"user": user.name})
        return _view(user)


def set_password(name: str, password: str, *, by: Actor, settings: Settings | None = None) -> None:
    """A new password for ``name``: the user themself or an admin. Ends the user's sessions."""
    settings = settings or get_settings()
    check_password(password)
    if by.name.lower() != str(name).lower():
        require(by, "manage_users")
    password_hash = _hasher().hash(password)
    with open_catalog(settings).session() as session:
        user = _get(session, name)
        user.password_hash = password_hash
        session.execute(sa.update(LoginSession).where(LoginSession.user_id == user.id).values(revoked=True))
        repo.record_audit(session, by.name, by.role, "user.password", details={"user": user.name})


# -- login and sessions -----------------------------------------------------------------------


def authenticate(name: str, password: str, *, client: str | None = None, settings: Settings | None = None) -> Actor:
    """The actor for a correct name and password. Failures raise :class:`AuthenticationFailed`
    with the same message for an unknown name and a wrong password; a disabled account is named
    as such only after its correct password. Repeated failures for one account name or from one
    ``client`` (an address) make the next attempt wait (:class:`LoginThrottled`, see
    :func:`throttle_wait`), unknown names alike, so the wait tells nothing about which names exist."""
    settings = settings or get_settings()
    name_ok = isinstance(name, str) and bool(NAME_RE.match(name))
    password_ok = isinstance(password, str) and 0 < len(password) <= PASSWORD_MAX
    shown = name[:64] if isinstance(name, str) else "?"
    client = _client(client)
    catalog = open_catalog(settings)
    with catalog.session() as session:
        # 1. a name or client that failed too often waits, before any password is checked
        wait = throttle_wait(session, shown, client)
        if wait > 0:
            repo.record_audit(session, shown, "-", "login.throttled",
                              details={"client": client, "retry_after_s": wait})
        user = _find(session, name) if name_ok else None
        stored = user.password_hash if user is not None else _dummy_hash()
        user_id = user.id if user is not None else None
    if wait > 0:
        raise LoginThrottled(f"too many failed logins: try again in {wait} s", retry_after_s=wait)
    # 2. check the password outside any transaction (slow on purpose)
    matched = False
    if password_ok:
        try:
            matched = _hasher().verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            matched = False
    matched = matched and user_id is not None
    # 3. record the outcome; a failure is committed before it is raised
    with catalog.session() as session:
        user = session.get(User, user_id) if user_id is not None else None
        if not matched or user is None:
            reason = "unknown user" if user is None else "wrong password"
            session.add(LoginFailure(name=shown.lower(), client=client, at=utcnow()))
            repo.record_audit(session, shown, user.role if user else "-", "login.failed",
                              details={"reason": reason, **({"client": client} if client != "-" else {})})
            failure: WorkbenchError | None = AuthenticationFailed(BAD_LOGIN)
        elif user.disabled:
            repo.record_audit(session, user.name, user.role, "login.failed", details={"reason": "disabled"})
            failure = AuthenticationFailed(f"the account {user.name!r} is disabled; ask an admin")
        else:
            failure = None
            if _hasher().check_needs_rehash(user.password_hash):
                user.password_hash = _hasher().hash(password)
            # a success clears the account's failures (the client's stay: they may be another account's)
            session.execute(sa.delete(LoginFailure).where(LoginFailure.name == user.name.lower()))
            repo.record_audit(session, user.name, user.role, "login.ok")
            actor = Actor(user.name, user.role)
    if failure is not None:
        raise failure
    return actor


def _client(client: str | None) -> str:
    """A client address as stored: printable, at most 64 characters, "-" when unknown."""
    if not isinstance(client, str) or not client.strip():
        return "-"
    text = "".join(ch for ch in client.strip() if ch.isprintable())
    return text[:64] or "-"


def throttle_wait(session: Session, name: str, client: str = "-") -> int:
    """Seconds before the next login attempt for ``name`` from ``client`` is taken (0: now).

    Within :data:`FAILURE_WINDOW_S`, the first :data:`FREE_FAILURES_PER_ACCOUNT` failures of an
    account name (and :data:`FREE_FAILURES_PER_CLIENT` of a client, over all names) cost nothing;
    each one after doubles the wait from the last failure (1, 2, 4 ... up to
    :data:`MAX_WAIT_S`). Attempts refused for waiting are not failures: waiting it out works."""
    now = utcnow()
    since = now - timedelta(seconds=FAILURE_WINDOW_S)
    session.execute(sa.delete(LoginFailure).where(LoginFailure.at < since))  # keep the table small
    waits = [0.0]
    for column, value, free in ((LoginFailure.name, name.lower(), FREE_FAILURES_PER_ACCOUNT),
                                (LoginFailure.client, client, FREE_FAILURES_PER_CLIENT)):
        if value == "-":
            continue
        count, last = session.execute(
            sa.select(sa.func.count(), sa.func.max(LoginFailure.at)).where(column == value, LoginFailure.at >= since)
        ).one()
        if count >= free and last is not None:
            if last.tzinfo is None:
                last = last.replace(tzinfo=now.tzinfo)
            delay = min(MAX_WAIT_S, 2 ** (count - free))
            waits.append(delay - (now - last).total_seconds())
    return max(0, math.ceil(max(waits)))


def start_session(actor: Actor, *, settings: Settings | None = None) -> str:
    """A new login session for ``actor`` (an enabled user); returns its bearer token, shown once."""
    settings = settings or get_settings()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with open_catalog(settings).session() as session:
        user = _get(session, actor.name)
        if user.disabled:
            raise AuthenticationFailed(f"the account {user.name!r} is disabled; ask an admin")
        session.add(LoginSession(token_hash=_token_hash(token), user_id=user.id, created_at=now,
                                 expires_at=now + timedelta(seconds=settings.session_ttl_s), revoked=False))
    return token


def login(name: str, password: str, *, client: str | None = None, settings: Settings | None = None) -> tuple[Actor, str]:
    """:func:`authenticate` then :func:`start_session`: the actor and the session token."""
    actor = authenticate(name, password, client=client, settings=settings)
    return actor, start_session(actor, settings=settings)


def login_external(name: str, provider: str, *, settings: Settings | None = None) -> tuple[Actor, str]:
    """A login vouched for by an identity provider (OIDC through Streamlit's ``st.login``): the
    verified e-mail claim is ``name``, looked up in the users table for the role. No password is
    checked here: the provider did that. Unknown or disabled names are refused and audited like
    password logins; a success is audited with ``via`` = ``provider``."""
    settings = settings or get_settings()
    shown = name[:64] if isinstance(name, str) else "?"
    with open_catalog(settings).session() as session:
        user = _find(session, name) if isinstance(name, str) and NAME_RE.match(name) else None
        if user is None or user.disabled:
            reason = "unknown user" if user is None else "disabled"
            repo.record_audit(session, shown, user.role if user else "-", "login.failed",
                              details={"reason": reason, "via": provider})
            failure = AuthenticationFailed(
                f"{shown!r} has no enabled account here: ask an admin to add it (workbench users add)"
            )
        else:
            failure = None
            repo.record_audit(session, user.name, user.role, "login.ok", details={"via": provider})
            actor = Actor(user.name, user.role)
    if failure is not None:
        raise failure
    return actor, start_session(actor, settings=settings)


def actor_for_session(token: str, *, settings: Settings | None = None) -> Actor:
    """The actor a live session token belongs to, with the user's current role."""
    settings = settings or get_settings()
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        raise SessionExpired("not signed in: log in again")
    with open_catalog(settings).session() as session:
        row = session.scalars(sa.select(LoginSession).where(LoginSession.token_hash == _token_hash(token))).one_or_none()
        if row is None or row.revoked:
            raise SessionExpired("the session has ended: log in again")
        if row.expires_at <= utcnow():
            raise SessionExpired("the session expired: log in again")
        if row.user.disabled:
            raise SessionExpired(f"the account {row.user.name!r} is disabled; ask an admin")
        return Actor(row.user.name, row.user.role)


def end_session(token: str, *, settings: Settings | None = None) -> bool:
    """Log out: revoke the session. True when a live session was ended (an unknown token is no error)."""
    settings = settings or get_settings()
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        return False
    with open_catalog(settings).session() as session:
        row = session.scalars(sa.select(LoginSession).where(LoginSession.token_hash == _token_hash(token))).one_or_none()
        if row is None or row.revoked:
            return False
        row.revoked = True
        repo.record_audit(session, row.user.name, row.user.role, "logout")
        return True


# -- the CLI's actor --------------------------------------------------------------------------


def os_user_name() -> str:
    """The local account running the command (``WORKBENCH_USER`` overrides, as elsewhere)."""
    import os

    name = os.environ.get("WORKBENCH_USER")
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "local"
    return name or "local"


def resolve_cli_actor(name: str | None = None, *, settings: Settings | None = None) -> Actor:
    """Who a CLI command acts as.

    1. ``--as NAME``: that user (enabled), with their role.
    2. Otherwise the OS user's own account, when one has that name.
    3. Otherwise, while the catalog has no account at all (a fresh install): the OS user as
       admin, so the first accounts can be made.
    4. Otherwise: refused; pass ``--as NAME``.

    The CLI asks no password: whoever runs it can already read and write the catalog and the
    store, so ``--as`` records who acted, it does not keep anyone out. Keep the workbench home
    readable only by the people who run it; the review UI is the place with logins.
    """
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        if name is not None:
            user = _get(session, name)
            if user.disabled:
                raise PermissionDenied(f"the account {user.name!r} is disabled")
            return Actor(user.name, user.role)
        local = os_user_name()
        own = _find(session, local) if NAME_RE.match(local) else None
        if own is not None and not own.disabled:
            return Actor(own.name, own.role)
        if not _any_user(session):
            return Actor(local, "admin")
    raise PermissionDenied(f"users exist and none is called {local!r}: pass --as NAME (see `workbench users list`)")
