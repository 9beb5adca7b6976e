"""Start the review app as its own ``streamlit run`` process, with the server flags the
workbench needs: headless, bound to one address, upload size capped from the settings, no
usage statistics, no file watcher, XSRF protection on (stated, though it is the default)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from workbench.settings import Settings, get_settings

APP = Path(__file__).resolve().with_name("app.py")


def command(port: int = 8501, address: str = "127.0.0.1", *, settings: Settings | None = None) -> list[str]:
    """The ``streamlit run`` command line for the review app (tests and benchmarks reuse it)."""
    settings = settings or get_settings()
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range: give 1-65535")
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.maxUploadSize", str(settings.max_upload_mb),
        "--server.enableXsrfProtection", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
        "--global.developmentMode", "false",
    ]


def serve(port: int = 8501, *, address: str = "127.0.0.1", settings: Settings | None = None) -> int:
    """Run the review app until it stops (Ctrl-C); returns the server's exit code."""
    settings = settings or get_settings()
    env = {**os.environ, "WORKBENCH_HOME": str(settings.home.resolve())}
    proc = subprocess.Popen(command(port, address, settings=settings), env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
