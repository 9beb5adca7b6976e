"""Accounts under pressure: the last-admin rule holds when two admins demote or disable each other
at the same moment (SQLite and PostgreSQL), the bootstrap rule is for an empty catalog only, and
repeated failed logins back off per account and per client, audited."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.review_helpers import fast_password_hashing
from workbench import users
from workbench.access import Actor, PermissionDenied
from workbench.catalog import AuditEvent, open_catalog
from workbench.catalog.models import LoginFailure, User
from workbench.errors import InvalidInput
from workbench.settings import Settings

ITERATIONS = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_USER", raising=False)
    fast_password_hashing(monkeypatch)
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    s = Settings(home=tmp_path / "home", database_url=url)
    yield s
    open_catalog(s).close()


def _enabled_admins(settings: Settings) -> list[str]:
    with open_catalog(settings).session() as s:
        return sorted(s.scalars(sa.select(User.name).where(User.role == "admin", ~User.disabled)))


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            outcomes[i] = call()
        except Exception as exc:  # noqa: BLE001 - the caller checks which ones were refused
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


@pytest.mark.parametrize("change", ["demote", "disable"])
def test_the_last_admin_rule_holds_under_concurrency(settings, change) -> None:
    users.add_user("root", "admin", "correct horse", by=None, settings=settings)
    root = Actor("root", "admin")
    for i in range(ITERATIONS):
        a, b = f"a{i}", f"b{i}"
        users.add_user(a, "admin", "password123", by=root, settings=settings)
        users.add_user(b, "admin", "password123", by=root, settings=settings)
        if i == 0:  # from the first round on, a and b are the only enabled admins
            users.set_role("root", "creative", by=Actor(a, "admin"), settings=settings)
        else:
            users.disable_user(f"a{i - 1}", by=Actor(a, "admin"), settings=settings)
            users.disable_user(f"b{i - 1}", by=Actor(a, "admin"), settings=settings)
        assert _enabled_admins(settings) == sorted([a, b])

        def act(by: str, target: str):
            if change == "demote":
                return users.set_role(target, "creative", by=Actor(by, "admin"), settings=settings)
            return users.disable_user(target, by=Actor(by, "admin"), settings=settings)

        outcomes = _race(lambda: act(a, b), lambda: act(b, a))
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refused) == 1 and isinstance(refused[0], InvalidInput), outcomes
        assert "last enabled admin" in str(refused[0])
        left = _enabled_admins(settings)
        assert len(left) == 1, f"round {i}: {left}"
        # put the round back: the survivor re-promotes / re-enables the other
        loser = b if left == [a] else a
        if change == "demote":
            users.set_role(loser, "admin", by=Actor(left[0], "admin"), settings=settings)
        else:
            users.enable_user(loser, by=Actor(left[0], "admin"), settings=settings)


def test_the_bootstrap_rule_is_for_an_empty_catalog_only(settings, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_USER", "local-ops")
    assert users.resolve_cli_actor(settings=settings) == Actor("local-ops", "admin")  # nobody yet
    users.add_user("first", "admin", "password123", by=None, settings=settings)
    users.add_user("cara", "creative", "password123", by=Actor("first", "admin"), settings=settings)
    # even if every admin were gone (here: removed behind the library's back), nobody becomes admin
    with open_catalog(settings).session() as s:
        s.execute(sa.update(User).where(User.name == "first").values(disabled=True))
    with pytest.raises(PermissionDenied, match="pass --as NAME"):
        users.resolve_cli_actor(settings=settings)
    with pytest.raises(PermissionDenied, match="only an admin may add users"):
        users.add_user("mallory", "admin", "password123", by=None, settings=settings)


# -- login backoff ---------------------------------------------------------------------------


def _events(settings, action: str) -> list[AuditEvent]:
    with open_catalog(settings).session() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _age_failures(settings, seconds: float) -> None:
    """Make every recorded failure ``seconds`` older (instead of sleeping through the backoff)."""
    with open_catalog(settings).session() as s:
        for f in s.scalars(sa.select(LoginFailure)):
            f.at = f.at - timedelta(seconds=seconds)


def test_failed_logins_back_off_per_account(settings) -> None:
    users.add_user("ana", "creative", "the-right-one", by=None, settings=settings)
    for _ in range(users.FREE_FAILURES_PER_ACCOUNT):  # free, each answered at once
        with pytest.raises(users.AuthenticationFailed, match="wrong password"):
            users.authenticate("ana", "wrong-guess", client="10.0.0.1", settings=settings)
    # the next attempt must wait, even with the right password; the wait doubles per failure
    with pytest.raises(users.LoginThrottled, match=r"try again in 1 s") as err:
        users.authenticate("ana", "the-right-one", client="10.0.0.2", settings=settings)
    assert err.value.retry_after_s == 1
    _age_failures(settings, 2)
    with pytest.raises(users.AuthenticationFailed, match="wrong password"):
        users.authenticate("ANA", "wrong-again", client="10.0.0.3", settings=settings)  # names match without case
    with pytest.raises(users.LoginThrottled, match=r"try again in 2 s"):
        users.authenticate("ana", "the-right-one", settings=settings)
    _age_failures(settings, 3)
    assert users.authenticate("ana", "the-right-one", settings=settings) == Actor("ana", "creative")
    # a success clears the account's failures: the next typo is free again
    with pytest.raises(users.AuthenticationFailed, match="wrong password"):
        users.authenticate("ana", "typo", settings=settings)
    throttled = _events(settings, "login.throttled")
    assert [e.details["retry_after_s"] for e in throttled] == [1, 2]
    assert throttled[0].details["client"] == "10.0.0.2"


def test_unknown_names_back_off_like_known_ones(settings) -> None:
    """The wait tells an attacker nothing about which names exist."""
    users.add_user("ana", "creative", "the-right-one", by=None, settings=settings)
    waits = {}
    for name in ("ana", "nobody"):
        for _ in range(users.FREE_FAILURES_PER_ACCOUNT + 1):
            try:
                users.authenticate(name, "guess", settings=settings)
            except users.LoginThrottled as exc:
                waits[name] = exc.retry_after_s
            except users.AuthenticationFailed:
                pass
    assert waits == {"ana": 1, "nobody": 1}


def test_one_client_guessing_many_names_backs_off(settings) -> None:
    for n in range(users.FREE_FAILURES_PER_CLIENT):
        with pytest.raises(users.AuthenticationFailed):
            users.authenticate(f"user{n}", "guess", client="203.0.113.9", settings=settings)
    with pytest.raises(users.LoginThrottled):
        users.authenticate("user-new", "guess", client="203.0.113.9", settings=settings)
    with pytest.raises(users.AuthenticationFailed, match="unknown user or wrong password"):  # another client is not held up
        users.authenticate("user-new", "guess", client="198.51.100.7", settings=settings)
    _age_failures(settings, users.FAILURE_WINDOW_S + 1)  # the window passes: forgotten
    with pytest.raises(users.AuthenticationFailed, match="unknown user or wrong password"):
        users.authenticate("user-new", "guess", client="203.0.113.9", settings=settings)


def test_the_wait_is_capped(settings) -> None:
    with open_catalog(settings).session() as s:
        from workbench.catalog.models import utcnow

        s.add_all([LoginFailure(name="ana", client="-", at=utcnow()) for _ in range(60)])
    with pytest.raises(users.LoginThrottled) as err:
        users.authenticate("ana", "x" * 8, settings=settings)
    assert err.value.retry_after_s == users.MAX_WAIT_S
