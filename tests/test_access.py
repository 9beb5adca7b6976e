"""Roles, permissions, local accounts and login sessions, on a real SQLite catalog."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from tests.review_helpers import FAST_HASHER_PARAMS, fast_password_hashing
from workbench import users
from workbench.access import PERMISSIONS, ROLES, Actor, PermissionDenied, can, require
from workbench.catalog import AuditEvent, open_catalog
from workbench.catalog.models import LoginSession, User
from workbench.errors import InvalidInput, NotFound
from workbench.export import export_approved
from workbench.settings import Settings


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path, monkeypatch):
    """A fresh catalog: a SQLite file, or a real PostgreSQL database (tests/services.py)."""
    monkeypatch.delenv("WORKBENCH_USER", raising=False)
    fast_password_hashing(monkeypatch)
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    s = Settings(home=tmp_path / "home", database_url=url)
    yield s
    open_catalog(s).close()


@pytest.fixture
def admin(settings):
    users.add_user("root-admin", "admin", "correct horse", by=None, settings=settings)
    return Actor("root-admin", "admin")


def _audit(settings, action_prefix: str) -> list[AuditEvent]:
    with open_catalog(settings).session() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action.startswith(action_prefix)).order_by(AuditEvent.id)))


# -- the permission table ---------------------------------------------------------------------


def test_permission_table() -> None:
    assert ROLES == ("creative", "localization", "ad_ops", "admin")
    assert set(PERMISSIONS["export"]) == {"ad_ops", "admin"}
    assert PERMISSIONS["manage_users"] == ("admin",)
    assert "ad_ops" not in PERMISSIONS["review"] and "ad_ops" not in PERMISSIONS["batch_approve"]
    assert set(PERMISSIONS["view"]) == set(ROLES)
    assert all(set(roles) <= set(ROLES) for roles in PERMISSIONS.values())
    assert can(Actor("a", "admin"), "rights") and not can(Actor("c", "creative"), "rights") and not can(None, "view")


def test_require_names_the_actor_and_the_roles() -> None:
    with pytest.raises(PermissionDenied) as err:
        require(Actor("cara", "creative"), "export")
    assert str(err.value) == "cara (creative) may not export: needs one of ad_ops, admin"
    assert require(Actor("otto", "ad_ops"), "export").name == "otto"
    with pytest.raises(PermissionDenied, match="nobody is signed in"):
        require(None, "view")
    with pytest.raises(InvalidInput, match="unknown permission"):
        require(Actor("a", "admin"), "launch_missiles")
    with pytest.raises(InvalidInput, match="unknown role"):
        Actor("eve", "superuser")


def test_creative_calling_export_gets_permission_denied(settings, tmp_path) -> None:
    out = tmp_path / "out"
    for role in ("creative", "localization"):
        with pytest.raises(PermissionDenied, match="may not export"):
            export_approved(Actor("someone", role), out, settings=settings)
    assert not out.exists()  # refused before anything was written


# -- accounts ---------------------------------------------------------------------------------


def test_first_user_bootstraps_then_only_admins_add(settings, admin) -> None:
    # no second bootstrap once an admin exists
    with pytest.raises(PermissionDenied, match="only an admin"):
        users.add_user("mallory", "admin", "password123", by=None, settings=settings)
    # a creative cannot add users, even a creative one
    users.add_user("cara", "creative", "password123", by=admin, settings=settings)
    with pytest.raises(PermissionDenied, match=r"cara \(creative\) may not manage_users"):
        users.add_user("eve", "creative", "password123", by=Actor("cara", "creative"), settings=settings)
    listed = users.list_users(settings=settings)
    assert [(u.name, u.role, u.disabled) for u in listed] == [("cara", "creative", False), ("root-admin", "admin", False)]
    events = _audit(settings, "user.")
    assert [(e.actor, e.action, e.details["user"]) for e in events] == [
        ("root-admin", "user.add", "root-admin"), ("root-admin", "user.add", "cara")
    ]
    with open_catalog(settings).session() as s:  # no password is stored, only an argon2id hash
        hashes = list(s.scalars(sa.select(User.password_hash)))
    assert all(h.startswith("$argon2id$") and "password123" not in h for h in hashes)


def test_production_hash_parameters(tmp_path, monkeypatch) -> None:
    """Without the tests' light parameters: argon2id with argon2-cffi's defaults (RFC 9106)."""
    from workbench import users as real

    real._hasher.cache_clear()
    settings = Settings(home=tmp_path / "prod")
    try:
        real.add_user("root-admin", "admin", "correct horse", by=None, settings=settings)
        assert real.authenticate("root-admin", "correct horse", settings=settings).role == "admin"
        with open_catalog(settings).session() as s:
            stored = s.scalars(sa.select(User.password_hash)).one()
        assert stored.startswith("$argon2id$") and not PasswordHasher().check_needs_rehash(stored)
    finally:
        open_catalog(settings).close()


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("", "creative", "password123", "bad user name"),
        ("a" * 65, "creative", "password123", "bad user name"),
        ("bad name", "creative", "password123", "bad user name"),
        ("x/../y", "creative", "password123", "bad user name"),
        ("ok.name@example.com", "owner", "password123", "unknown role"),
        ("ok-name", "creative", "short", "at least 8"),
    ],
)
def test_add_user_checks_inputs(settings, admin, name, role, password, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        users.add_user(name, role, password, by=admin, settings=settings)


def test_duplicate_names_are_refused_whatever_the_case(settings, admin) -> None:
    users.add_user("Ana@example.com", "creative", "password123", by=admin, settings=settings)
    with pytest.raises(InvalidInput, match="already exists"):
        users.add_user("ana@example.com", "ad_ops", "password123", by=admin, settings=settings)


def test_last_admin_cannot_be_demoted_or_disabled(settings, admin) -> None:
    with pytest.raises(InvalidInput, match="last enabled admin"):
        users.set_role("root-admin", "creative", by=admin, settings=settings)
    with pytest.raises(InvalidInput, match="last enabled admin"):
        users.disable_user("root-admin", by=admin, settings=settings)
    users.add_user("second", "admin", "password123", by=admin, settings=settings)
    assert users.set_role("root-admin", "ad_ops", by=admin, settings=settings).role == "ad_ops"
    with pytest.raises(NotFound, match="no user 'ghost'"):
        users.disable_user("ghost", by=Actor("second", "admin"), settings=settings)


# -- login ------------------------------------------------------------------------------------


def test_authenticate_same_message_for_unknown_user_and_wrong_password(settings, admin) -> None:
    users.add_user("cara", "creative", "password123", by=admin, settings=settings)
    assert users.authenticate("cara", "password123", settings=settings) == Actor("cara", "creative")
    with pytest.raises(users.AuthenticationFailed) as wrong:
        users.authenticate("cara", "password124", settings=settings)
    with pytest.raises(users.AuthenticationFailed) as unknown:
        users.authenticate("nobody", "password123", settings=settings)
    with pytest.raises(users.AuthenticationFailed) as junk:
        users.authenticate("../../etc", "", settings=settings)
    assert str(wrong.value) == str(unknown.value) == str(junk.value) == users.BAD_LOGIN
    events = _audit(settings, "login.")
    assert [(e.actor, e.action, (e.details or {}).get("reason")) for e in events] == [
        ("cara", "login.ok", None), ("cara", "login.failed", "wrong password"),
        ("nobody", "login.failed", "unknown user"), ("../../etc", "login.failed", "unknown user"),
    ]


def test_disabled_user_cannot_log_in_and_loses_sessions(settings, admin) -> None:
    users.add_user("cara", "creative", "password123", by=admin, settings=settings)
    actor, token = users.login("cara", "password123", settings=settings)
    assert users.actor_for_session(token, settings=settings) == actor
    users.disable_user("cara", by=admin, settings=settings)
    with pytest.raises(users.SessionExpired):
        users.actor_for_session(token, settings=settings)
    with pytest.raises(users.AuthenticationFailed, match="disabled"):
        users.authenticate("cara", "password123", settings=settings)
    with pytest.raises(users.AuthenticationFailed, match=users.BAD_LOGIN):  # wrong password: no hint it exists
        users.authenticate("cara", "password999", settings=settings)
    users.enable_user("cara", by=admin, settings=settings)
    assert users.authenticate("cara", "password123", settings=settings).role == "creative"


def test_old_hash_parameters_are_upgraded_at_login(settings, admin) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash("password123")
    with open_catalog(settings).session() as s:
        s.add(User(name="legacy", role="creative", password_hash=weak, disabled=False))
    users.authenticate("legacy", "password123", settings=settings)
    with open_catalog(settings).session() as s:
        upgraded = s.scalars(sa.select(User.password_hash).where(User.name == "legacy")).one()
    assert upgraded != weak and not PasswordHasher(**FAST_HASHER_PARAMS).check_needs_rehash(upgraded)
    assert users.authenticate("legacy", "password123", settings=settings).name == "legacy"


# -- sessions ---------------------------------------------------------------------------------


def test_session_round_trip_logout_and_hashed_token(settings, admin) -> None:
    token = users.start_session(admin, settings=settings)
    assert len(token) >= 40
    assert users.actor_for_session(token, settings=settings) == admin
    with open_catalog(settings).session() as s:
        row = s.scalars(sa.select(LoginSession)).one()
        assert row.token_hash != token and len(row.token_hash) == 64  # only the SHA-256 is stored
        assert (row.expires_at - row.created_at).total_seconds() == settings.session_ttl_s
    assert users.end_session(token, settings=settings) is True
    assert users.end_session(token, settings=settings) is False
    for bad in (token, "", "x" * 1000, "made-up-token"):
        with pytest.raises(users.SessionExpired):
            users.actor_for_session(bad, settings=settings)
    assert [e.action for e in _audit(settings, "logout")] == ["logout"]


def test_session_expires_after_ttl(tmp_path, admin, settings) -> None:
    short = settings.model_copy(update={"session_ttl_s": 0})
    token = users.start_session(admin, settings=short)
    with pytest.raises(users.SessionExpired, match="expired"):
        users.actor_for_session(token, settings=short)
    long_lived = users.start_session(admin, settings=settings)
    assert users.actor_for_session(long_lived, settings=settings) == admin


def test_role_change_applies_to_live_sessions(settings, admin) -> None:
    users.add_user("cara", "creative", "password123", by=admin, settings=settings)
    _, token = users.login("cara", "password123", settings=settings)
    users.set_role("cara", "ad_ops", by=admin, settings=settings)
    assert users.actor_for_session(token, settings=settings) == Actor("cara", "ad_ops")


# -- the CLI's actor --------------------------------------------------------------------------


def test_cli_actor_bootstrap_and_as(settings, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_USER", "local-ops")
    # fresh install: the OS user acts as admin
    assert users.resolve_cli_actor(settings=settings) == Actor("local-ops", "admin")
    users.add_user("root-admin", "admin", "password123", by=None, settings=settings)
    users.add_user("cara", "creative", "password123", by=Actor("root-admin", "admin"), settings=settings)
    # an admin exists and the OS user has no account: --as is needed
    with pytest.raises(PermissionDenied, match="pass --as NAME"):
        users.resolve_cli_actor(settings=settings)
    assert users.resolve_cli_actor("cara", settings=settings) == Actor("cara", "creative")
    with pytest.raises(NotFound):
        users.resolve_cli_actor("ghost", settings=settings)
    # the OS user's own account, when there is one
    users.add_user("local-ops", "ad_ops", "password123", by=Actor("root-admin", "admin"), settings=settings)
    assert users.resolve_cli_actor(settings=settings) == Actor("local-ops", "ad_ops")
    users.disable_user("cara", by=Actor("root-admin", "admin"), settings=settings)
    with pytest.raises(PermissionDenied, match="disabled"):
        users.resolve_cli_actor("cara", settings=settings)


def test_external_login_maps_the_email_claim_to_a_role(settings, admin) -> None:
    users.add_user("ana@example.com", "localization", "unused-random-password", by=admin, settings=settings)
    actor, token = users.login_external("Ana@Example.com", "oidc", settings=settings)
    assert actor == Actor("ana@example.com", "localization")
    assert users.actor_for_session(token, settings=settings) == actor
    with pytest.raises(users.AuthenticationFailed, match="no enabled account"):
        users.login_external("bob@example.com", "oidc", settings=settings)
    users.disable_user("ana@example.com", by=admin, settings=settings)
    with pytest.raises(users.AuthenticationFailed, match="no enabled account"):
        users.login_external("ana@example.com", "oidc", settings=settings)
    events = _audit(settings, "login.")
    assert [(e.action, e.details) for e in events] == [
        ("login.ok", {"via": "oidc"}),
        ("login.failed", {"reason": "unknown user", "via": "oidc"}),
        ("login.failed", {"reason": "disabled", "via": "oidc"}),
    ]
