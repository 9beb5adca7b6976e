"""Start the review app as its own ``streamlit run`` process, with the server flags the
workbench needs: headless, bound to one address, upload size capped from the settings, no
usage statistics, no file watcher, no agent API, XSRF protection on (stated, though it is the
default).

The process serves ``ui/server.py`` (``st.App`` around ``ui/app.py`` with the workbench's
middleware, see :mod:`ui.web`). :func:`serve` stays its parent: a SIGTERM, SIGHUP or SIGINT to
``workbench review`` is passed on to the server, which gets :data:`STOP_GRACE_S` seconds to stop
before it is killed; and on Linux the server is told to die with its parent
(``PR_SET_PDEATHSIG``), so even a SIGKILL of ``workbench review`` leaves no server on the port.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from workbench.settings import Settings, get_settings

APP = Path(__file__).resolve().with_name("app.py")  # the Streamlit script (what AppTest runs)
ENTRY = Path(__file__).resolve().with_name("server.py")  # what the server runs: st.App around APP
STOP_GRACE_S = 10.0
FORWARDED = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, n))
_MASKABLE = hasattr(signal, "pthread_sigmask")
PR_SET_PDEATHSIG = 1


def command(port: int = 8501, address: str = "127.0.0.1", *, settings: Settings | None = None) -> list[str]:
    """The ``streamlit run`` command line for the review app (tests and benchmarks reuse it)."""
    settings = settings or get_settings()
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range: give 1-65535")
    return [
        sys.executable, "-m", "streamlit", "run", str(ENTRY),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.maxUploadSize", str(settings.max_upload_mb),
        "--server.enableXsrfProtection", "true",
        "--server.enableAgentApi", "false",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
        "--global.developmentMode", "false",
        # Streamlit's default runs a full garbage collection after every run: ~100 ms here (the
        # process holds the generators' libraries), holding the GIL while the run's last
        # messages wait to be sent, on every click. Python's own collector still runs.
        "--runner.postScriptGC", "false",
    ]


def _die_with_parent(parent: int):
    """A ``preexec_fn`` (runs in the child before exec): unblock the signals :func:`serve` held
    back while starting it, and on Linux have the child get SIGTERM when the process that
    started it dies (exiting at once if that already happened)."""
    libc_name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    libc = ctypes.CDLL(libc_name, use_errno=True) if libc_name else None  # loaded here, not after fork

    def preexec() -> None:
        if _MASKABLE:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        if libc is None:
            return
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, *, grace_s: float = STOP_GRACE_S) -> int:
    """Send ``sig`` to the server, wait up to ``grace_s`` seconds, then kill it. Returns 0 when
    it stopped as asked (uvicorn shuts down, then re-raises the signal it caught, so its status
    is "killed by ``sig``"), else its exit status."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            code = proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
        return 0 if code == -sig else code
    return proc.wait()


def serve(port: int = 8501, *, address: str = "127.0.0.1", settings: Settings | None = None) -> int:
    """Run the review app until it stops or this process gets SIGTERM, SIGHUP or SIGINT;
    returns the server's exit code.

    Any of the three stops the server the same way: SIGTERM (uvicorn's graceful stop; a second
    SIGINT would make it skip waiting for open connections, and SIGHUP would kill it without
    any cleanup), then a kill after :data:`STOP_GRACE_S` seconds."""
    from workbench.scratch import sweep

    settings = settings or get_settings()
    home = settings.home.resolve()
    sweep(home)  # temps left by killed processes
    env = {**os.environ, "WORKBENCH_HOME": str(home)}
    cmd = command(port, address, settings=settings)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise _Stop(signum)

    main = threading.current_thread() is threading.main_thread()  # only it may handle signals
    previous = {sig: signal.signal(sig, on_signal) for sig in FORWARDED} if main else {}
    proc: subprocess.Popen | None = None
    try:
        # held back while the child starts, so a signal cannot come between fork and `proc = ...`
        if main and _MASKABLE:
            signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
        try:
            preexec = _die_with_parent(os.getpid()) if os.name == "posix" else None
            proc = subprocess.Popen(cmd, env=env, preexec_fn=preexec)  # noqa: PLW1509 (no other threads here)
        finally:
            if main and _MASKABLE:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)  # a pending signal is handled here
        return proc.wait()
    except _Stop:
        for sig in FORWARDED:  # a second signal while stopping must not interrupt the wait
            signal.signal(sig, signal.SIG_IGN)
        return stop(proc) if proc is not None else 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc is not None and proc.poll() is None:  # any other way out of here (an error)
            stop(proc)


class _Stop(BaseException):
    """Raised in the main thread by a forwarded signal (BaseException: nothing swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
