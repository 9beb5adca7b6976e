"""Temporary files and folders that name their owner, and the sweep that clears a dead owner's.

Every temp the workbench makes (store temps, render folders, export staging, signing temps) is
named ``<prefix><host>-<pid>-<random>``. A process killed mid-write leaves its temps behind; any
later command on the same machine sees that their owner is gone and removes them
(:func:`sweep`, run when a command, a worker or the review app starts). Temps of another machine
(a shared store) are left to that machine, unless they are older than :data:`STALE_AFTER_S`.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

STALE_AFTER_S = 24 * 3600  # a temp this old is abandoned, whoever made it
_HOST_SAFE = re.compile(r"[^A-Za-z0-9.]+")


@lru_cache(maxsize=1)
def host_tag() -> str:
    """This machine's name as it appears in temp names (no '-', so names split unambiguously)."""
    return _HOST_SAFE.sub("", socket.gethostname())[:40] or "host"


def temp_name(prefix: str, suffix: str = "") -> str:
    """A name no other process or machine will pick, that says who made it."""
    return f"{prefix}{host_tag()}-{os.getpid()}-{secrets.token_hex(6)}{suffix}"


@dataclass(frozen=True)
class Owner:
    host: str | None  # None: a name from before hosts were recorded (this machine's)
    pid: int


def owner_of(name: str, prefix: str) -> Owner | None:
    """Who made a temp called ``name`` (None: not a name this module made)."""
    if not name.startswith(prefix):
        return None
    parts = name[len(prefix):].split("-")
    if len(parts) >= 3 and parts[1].isdigit() and parts[1].isascii():
        return Owner(parts[0], int(parts[1]))
    if len(parts) >= 2 and parts[0].isdigit() and parts[0].isascii():  # <pid>-<random>
        return Owner(None, int(parts[0]))
    return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has exited but not been reaped (in a container whose first process does not
    reap orphans, a killed worker's children stay so for good): dead for our purposes."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no procfs (macOS) or gone this instant: trust the signal check
    state = stat[stat.rfind(")") + 2:][:1]  # the field after "(comm)"; comm may hold spaces or ")"
    return state in ("Z", "X")


def owner_alive(name: str, prefix: str) -> bool:
    """False only when the owner was a process of this machine that is gone."""
    owner = owner_of(name, prefix)
    if owner is None:
        return True  # not ours to judge
    if owner.host is not None and owner.host != host_tag():
        return True
    return owner.pid == os.getpid() or _pid_alive(owner.pid)


def sweep_folder(folder: Path, prefixes: Iterable[str], *, older_than_s: float = STALE_AFTER_S) -> int:
    """Remove the entries of ``folder`` named with one of ``prefixes`` whose owner is gone (or
    that are older than ``older_than_s``); return how many were removed."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for entry in entries:
        prefix = next((p for p in prefixes if entry.name.startswith(p)), None)
        if prefix is None:
            continue
        try:
            stale = not owner_alive(entry.name, prefix) or entry.stat(follow_symlinks=False).st_mtime < cutoff
            if not stale:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:  # another sweeper, or the owner itself, got there first
            continue
        except OSError as exc:
            log.warning("event=sweep_skipped path=%s reason=%s", entry.path, exc)
    return removed


# The workbench's own temp folders under WORKBENCH_HOME and what they hold.
RENDER_PREFIX = "render-"
TEMP_PREFIX = ".tmp-"


def sweep(home: Path) -> int:
    """Clear dead owners' temps under a workbench home: the asset store's temps, render folders,
    preview temps and friendly-name link temps. Cheap (a few directory listings)."""
    home = Path(home)
    removed = sweep_folder(home / "store", [TEMP_PREFIX])
    removed += sweep_folder(home / "tmp", [RENDER_PREFIX, TEMP_PREFIX])
    previews = home / "previews"
    if previews.is_dir():
        for sub in os.scandir(previews):
            if sub.is_dir(follow_symlinks=False):
                removed += sweep_folder(Path(sub.path), [TEMP_PREFIX])
    out = home / "out"
    if out.is_dir():
        for sub in os.scandir(out):
            if sub.is_dir(follow_symlinks=False):
                removed += sweep_folder(Path(sub.path), [TEMP_PREFIX])
    if removed:
        log.info("event=swept_temps home=%s removed=%d", home, removed)
    return removed
