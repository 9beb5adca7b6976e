"""Opening the catalog: engine, connection settings, migrations and sessions.

``open_catalog()`` is the one entry point. It returns one :class:`Catalog` per database URL per
process, brings the schema to the newest migration the first time (Alembic, driven from code:
no alembic.ini on the user's side) and hands out sessions::

    catalog = open_catalog()            # settings from WORKBENCH_* (default SQLite under home)
    with catalog.session() as s:        # commit on success, rollback on error
        title = repo.get_title(s, "Sintel")

SQLite (the default) gets WAL, foreign keys, a 30 s busy timeout and synchronous=NORMAL on every
connection. Nothing else here is SQLite-only: ``WORKBENCH_DATABASE_URL`` may name PostgreSQL.

For maintainers, ``python -m workbench.catalog <alembic command>`` runs Alembic against the
configured database with the same configuration (see ``workbench/catalog/__main__.py``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from workbench.errors import WorkbenchError
from workbench.settings import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=30000",  # first: wait for a busy writer (workers, UI) instead of failing
    "PRAGMA journal_mode=WAL",  # readers do not block the writer, and the other way round
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",  # safe with WAL; a power loss may drop the last commits only
)
WAL_SWITCH_TRIES = 100  # switching a new file to WAL needs a moment with no other lock held

_PG_MIGRATION_LOCK = 0x776F726B62656E63  # "workbenc": serialises concurrent upgrades on PostgreSQL


class Catalog:
    """An open catalog database: an engine plus a session factory."""

    def __init__(self, url: str | URL, engine: Engine) -> None:
        self.url = make_url(url)
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block ends, rolls back if it raises. Objects stay
        usable (not expired) after the block. Keep blocks short: a writing session holds the
        SQLite write lock until it commits."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Close the pool's connections and forget this catalog (the next open makes a new one)."""
        with _lock:
            if _catalogs.get(_cache_key(self.url)) is self:
                del _catalogs[_cache_key(self.url)]
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Catalog({self.url.render_as_string(hide_password=True)!r})"


_lock = threading.Lock()
_catalogs: dict[str, Catalog] = {}


def open_catalog(settings_or_url: Settings | str | URL | None = None) -> Catalog:
    """The catalog for these settings (default: :func:`get_settings`) or this SQLAlchemy URL,
    migrated to the newest schema. The same object is returned for the same URL in a process."""
    # 1. resolve the URL
    if settings_or_url is None:
        settings_or_url = get_settings()
    if isinstance(settings_or_url, Settings):
        url = _absolute(make_url(settings_or_url.resolved_database_url))
    else:
        url = _absolute(make_url(settings_or_url))
    key = _cache_key(url)

    with _lock:
        # 2. reuse this process's catalog for the URL (its pool and its finished migration)
        catalog = _catalogs.get(key)
        if catalog is not None:
            return catalog
        # 3. connect and migrate, once per process per URL
        engine = create_catalog_engine(url)
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        catalog = _catalogs[key] = Catalog(url, engine)
        return catalog


def close_all_catalogs() -> None:
    """Dispose every open catalog's engine (tests, and a CLI that changes --home)."""
    with _lock:
        catalogs = list(_catalogs.values())
        _catalogs.clear()
    for catalog in catalogs:
        catalog.engine.dispose()


def create_catalog_engine(url: str | URL) -> Engine:
    """An engine for the catalog; for SQLite, creates the file's folder and sets the pragmas."""
    url = make_url(url)
    kwargs: dict[str, Any] = {}
    if _is_sqlite(url):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            kwargs.update(connect_args={"timeout": 30})
        elif _is_sqlite_memory(url):
            # One shared connection, or every connection would see its own empty database.
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = sa.create_engine(url, **kwargs)
    if _is_sqlite(url):
        sa.event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _set_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            if "journal_mode" in pragma:
                _switch_to_wal(cursor, pragma)
            else:
                cursor.execute(pragma)
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any, pragma: str) -> None:
    """On a brand-new file another process may hold the lock (it is migrating); changing the
    journal mode does not wait on busy_timeout, so wait here. Once a file is in WAL the pragma
    is a plain read and succeeds at once."""
    import sqlite3

    for attempt in range(WAL_SWITCH_TRIES):
        try:
            cursor.execute(pragma)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_TRIES - 1:
                raise
            time.sleep(0.05)


# -- migrations -------------------------------------------------------------------------------


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic Config built in code: the package's migrations, and ``url`` (default: the
    configured database) for commands that open their own connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is None:
        url = get_settings().resolved_database_url
    # ConfigParser interpolates '%': double it (passwords may hold one).
    config.set_main_option("sqlalchemy.url", make_url(url).render_as_string(hide_password=False).replace("%", "%%"))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str | None:
    return _scripts().get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Safe to call again and from several processes at once:
    the whole upgrade is one transaction that holds the database's write lock (SQLite
    ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), so the second caller waits, then finds
    nothing to do. A killed upgrade leaves the schema as it was (transactional DDL)."""
    scripts = _scripts()
    current = current_revision(engine)
    if revision == "head" and current == scripts.get_current_head():
        return  # the common case: nothing to do, no write lock taken
    if current is not None and current not in {script.revision for script in scripts.walk_revisions()}:
        raise WorkbenchError(
            f"the catalog at {engine.url.render_as_string(hide_password=True)} has schema revision {current}, "
            f"newer than this workbench knows ({scripts.get_current_head()}); upgrade the workbench"
        )
    config = alembic_config(engine.url)
    if engine.dialect.name == "sqlite":
        # pysqlite would commit around DDL on its own; drive the transaction by hand instead.
        # Foreign keys are off while the schema changes (SQLite's own procedure: a table rebuilt
        # by a batch migration is dropped and recreated under its references) and every
        # reference is checked before the commit.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    config.attributes["connection"] = connection
                    command.upgrade(config, revision)
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise WorkbenchError(f"the catalog upgrade would break {len(broken)} reference(s), e.g. {tuple(broken[0])}; nothing was changed")
                except BaseException:
                    connection.exec_driver_sql("ROLLBACK")
                    raise
                connection.exec_driver_sql("COMMIT")
            finally:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    else:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)


# -- helpers ----------------------------------------------------------------------------------


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a plain SQLite file URL (not memory, not a ``file:`` URI)."""
    if not _is_sqlite(url) or _is_sqlite_memory(url) or url.database.startswith("file:"):
        return None
    return Path(url.database).expanduser().resolve()


def _absolute(url: URL) -> URL:
    """A SQLite file URL with an absolute path, so a later chdir does not move the database."""
    path = _sqlite_file(url)
    return url if path is None else url.set(database=str(path))


def _cache_key(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _after_fork_in_child() -> None:
    # A forked worker (Celery prefork) must not reuse its parent's pooled connections.
    for catalog in list(_catalogs.values()):
        catalog.engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
