"""A worker as a child process: `python -m workbench worker` in its own session (so it can be
stopped, or killed with its pool children as a machine failure would). Used by `workbench demo`
and by the reliability tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path, queues: str = "cpu", concurrency: int = 2):
        self.env, self.log, self.queues, self.concurrency = env, log, queues, concurrency
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> "WorkerProcess":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.log, "ab")
        mark = self.log.stat().st_size
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench", "worker", "--queues", self.queues, "--concurrency", str(self.concurrency)],
            env=self.env, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[mark:].decode(errors="replace")
            if " ready." in text:
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{text[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker not ready after {timeout}s:\n{self.log.read_text(errors='replace')[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL the worker's whole process group: parent and children die at once."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()
        if getattr(self, "_fh", None):
            self._fh.close()

    def alive(self) -> bool:
        return bool(self.proc) and self.proc.poll() is None

    def __enter__(self) -> "WorkerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
