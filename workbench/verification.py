"""Is a stored file still what the catalog says it is? One check for every reader that must know
(the variant page, the export): the file exists and is a regular file, it still has the SHA-256
recorded when it was made, and its C2PA manifest verifies."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from provenance import VerifyReport, verify_file
from workbench.store import AssetStore


@dataclass(frozen=True)
class StoredCheck:
    path: Path
    intact: bool | None  # the bytes still hash to the catalog's sha256 (None: missing or unreadable)
    report: VerifyReport | None  # the C2PA verification (None: missing or unreadable)
    problem: str | None  # one line saying why it must not be delivered; None: fine
    data: bytes | None = None  # the file's bytes, when asked for

    @property
    def missing(self) -> bool:
        return self.report is None


def read_regular_file(path: Path) -> bytes:
    """A file's bytes, only if it is a regular file: a folder, a FIFO or a device put in its place
    is refused at once (OSError) instead of blocking or failing half-way."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def check_stored(store: AssetStore, sha256: str, ext: str, anchors: bytes | None, *, keep_bytes: bool = False,
                 since: str = "it was made", subject: str = "the file") -> StoredCheck:
    """Check the stored file of ``sha256``: present, unaltered (since ``since``: "approval" for an
    export), and carrying a manifest that verifies as Trusted or Valid (``anchors``: the trust
    anchors, see provenance). Messages call it ``subject`` ("the approved file")."""
    path = store.path_for(sha256, ext)
    try:
        data = read_regular_file(path)
    except FileNotFoundError:
        return StoredCheck(path, None, None, f"{subject} is missing from the asset store ({path.name})")
    except OSError as exc:
        return StoredCheck(path, None, None, f"{subject} cannot be read from the asset store ({path.name}: {exc.strerror or exc})")
    problems = []
    actual = hashlib.sha256(data).hexdigest()
    intact = actual == sha256
    if not intact:
        problems.append(f"file altered after {since}: its sha256 is {actual[:16]}…, the catalog recorded {sha256[:16]}…")
    report = verify_file(path, anchors)
    if report.state == "Unsigned":
        problems.append("no C2PA manifest (Unsigned)")
    elif report.state == "Invalid":
        why = ", ".join(report.codes) or report.detail or "no reason given"
        problems.append(f"C2PA manifest does not verify (Invalid: {why})")
    return StoredCheck(path, intact, report, "; ".join(problems) or None, data if keep_bytes and not problems else None)
