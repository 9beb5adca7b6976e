"""The content-addressed asset store: every file the workbench keeps (sources, keyframes,
variants) lives under ``root/ab/cd/<sha256><ext>``, named by the SHA-256 of its bytes.

Guarantees:

- **Atomic.** A file is copied into a temp file (``root/.tmp-*``), hashed while it is copied,
  fsynced, then ``os.replace``-d under its final name. A reader never sees a partial file under
  a final name; a killed writer leaves only a ``.tmp-*`` file that :meth:`AssetStore.sweep_temp`
  clears. Temps live in ``root`` itself (the final directory is known only once the hash is),
  which is on the same file system, so the rename is atomic.
- **De-duplicated.** Storing the same bytes twice gives one file and the same path. Two writers
  of the same content at once both succeed: each writes its own temp; the second either finds
  the file and drops its temp, or replaces it with identical bytes (readers holding the old
  file keep reading it).
- **Streaming.** Files are read in 1 MiB chunks (sources may be many GB); nothing reads a whole
  file into memory.
- **Immutable.** Stored files are made read-only (0444); nothing edits a file in place.

:func:`sha256_file` is the project's one hashing helper for files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from workbench import scratch
from workbench.errors import InvalidInput, NotFound

CHUNK_SIZE = 1 << 20  # 1 MiB
TEMP_PREFIX = scratch.TEMP_PREFIX
STORED_MODE = 0o444

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_EXT_RE = re.compile(r"^\.[a-z0-9]{1,15}$")


def sha256_file(path: Path | str, chunk: int = CHUNK_SIZE) -> str:
    """Hex SHA-256 of a file, read in ``chunk``-byte pieces (never the whole file at once)."""
    digest = hashlib.sha256()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


def normalize_ext(ext: str) -> str:
    """``"MP4"``, ``"mp4"`` and ``".mp4"`` all become ``".mp4"``; ``""`` stays ``""`` (no extension)."""
    if ext == "":
        return ""
    ext = ext.lower()
    if not ext.startswith("."):
        ext = "." + ext
    if not _EXT_RE.match(ext):
        raise InvalidInput(f"bad file extension {ext!r}: expected a dot and 1-15 letters or digits, e.g. '.mp4'")
    return ext


def check_sha256(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
        raise InvalidInput(f"bad sha256 {sha256!r}: expected 64 lowercase hex digits")
    return sha256


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path
    size: int
    ext: str  # with its dot, e.g. ".mp4"; "" for none
    created: bool = field(default=False, compare=False)  # this call put the file there (it was not stored yet)


@dataclass
class StagedFile:
    """A private copy in the store, hashed, not yet under its final name: check it (probe it),
    then :meth:`commit`; leaving :meth:`AssetStore.staged` without committing removes it."""

    path: Path
    sha256: str
    size: int
    ext: str
    _store: AssetStore
    stored: StoredFile | None = None

    def commit(self) -> StoredFile:
        if self.stored is None:
            self.stored = self._store._commit(self.path, self.sha256, self.size, self.ext)
        return self.stored


class AssetStore:
    """Content-addressed files under ``root``. Safe to share between threads and processes."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # -- naming -------------------------------------------------------------------------------

    def path_for(self, sha256: str, ext: str = "") -> Path:
        """Where the file with this hash and extension lives (whether or not it exists)."""
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{normalize_ext(ext)}"

    def find(self, sha256: str) -> list[Path]:
        """Every stored file with this hash (the same bytes may be stored under two extensions)."""
        check_sha256(sha256)
        folder = self.root / sha256[:2] / sha256[2:4]
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.name.startswith(sha256) and p.name[64:65] in ("", "."))

    def exists(self, sha256: str, ext: str | None = None) -> bool:
        """Whether the hash is stored (under ``ext`` when given, under any extension otherwise)."""
        if ext is None:
            return bool(self.find(sha256))
        return self.path_for(sha256, ext).is_file()

    def iter_files(self) -> Iterator[StoredFile]:
        """Every stored file (temps skipped), in no particular order."""
        if not self.root.is_dir():
            return
        for top in self.root.iterdir():
            if top.name.startswith(".") or not top.is_dir():
                continue
            for path in top.glob("*/*"):
                if path.name.startswith(".") or not path.is_file():
                    continue
                sha, ext = path.name[:64], path.name[64:]
                if _SHA256_RE.match(sha):
                    yield StoredFile(sha256=sha, path=path, size=path.stat().st_size, ext=ext)

    # -- writing ------------------------------------------------------------------------------

    def put_file(self, src: Path | str, ext: str | None = None) -> StoredFile:
        """Copy ``src`` into the store (hashing while copying). ``ext`` defaults to src's suffix."""
        src = Path(src)
        if ext is None:
            ext = src.suffix
        ext = normalize_ext(ext)  # 1. check inputs before any I/O
        if not src.is_file():
            raise NotFound(f"no file {str(src)!r} to store")
        with open(src, "rb", buffering=0) as f:
            return self.put_stream(f, ext)

    def put_bytes(self, data: bytes, ext: str = "") -> StoredFile:
        ext = normalize_ext(ext)
        sha256 = hashlib.sha256(data).hexdigest()
        final = self.path_for(sha256, ext)
        if final.is_file() and final.stat().st_size == len(data):
            return StoredFile(sha256=sha256, path=final, size=len(data), ext=ext)

        def write(out: BinaryIO) -> tuple[str, int]:
            _write_all(out, data)
            return sha256, len(data)

        return self._write_temp_and_commit(write, ext)

    def put_stream(self, stream: BinaryIO, ext: str = "") -> StoredFile:
        """Store everything readable from a binary stream. If reading raises, nothing is stored
        and the temp file is removed."""
        ext = normalize_ext(ext)
        return self._write_temp_and_commit(lambda out: _copy_hashing(stream, out), ext)

    @contextlib.contextmanager
    def staged(self, src: Path | str, ext: str | None = None) -> Iterator[StagedFile]:
        """Copy ``src`` into a private temp in the store (hashing while copying) and yield it, so
        the caller checks the very bytes that will be stored; ``commit()`` stores them. The temp
        is gone when the block ends, committed or not."""
        src = Path(src)
        ext = normalize_ext(src.suffix if ext is None else ext)
        if not src.is_file():
            raise NotFound(f"no file {str(src)!r} to store")
        with open(src, "rb", buffering=0) as f:
            tmp, sha256, size = self._write_temp(lambda out: _copy_hashing(f, out), suffix=ext)
        staged = StagedFile(tmp, sha256, size, ext, self)
        try:
            yield staged
        finally:
            if staged.stored is None:
                tmp.unlink(missing_ok=True)

    def _write_temp_and_commit(self, write: Callable[[BinaryIO], tuple[str, int]], ext: str) -> StoredFile:
        tmp, sha256, size = self._write_temp(write)
        return self._commit(tmp, sha256, size, ext)

    def _write_temp(self, write: Callable[[BinaryIO], tuple[str, int]], suffix: str = "") -> tuple[Path, str, int]:
        # 1. write into a private temp file next to the store's folders (same file system)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / scratch.temp_name(TEMP_PREFIX, suffix)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                sha256, size = write(out)
                # 2. make the bytes durable before they get a final name
                os.fsync(out.fileno())
            return tmp, sha256, size
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _commit(self, tmp: Path, sha256: str, size: int, ext: str) -> StoredFile:
        try:
            # 3. same content already stored: drop the temp, keep the existing file
            final = self.path_for(sha256, ext)
            if final.is_file() and final.stat().st_size == size:
                tmp.unlink()
                return StoredFile(sha256=sha256, path=final, size=size, ext=ext)
            os.chmod(tmp, STORED_MODE)
            final.parent.mkdir(parents=True, exist_ok=True)
            # 4. atomic rename; a concurrent writer of the same bytes may have won: same content
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            return StoredFile(sha256=sha256, path=final, size=size, ext=ext, created=True)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def remove(self, stored: StoredFile) -> None:
        """Take back a file this process just stored and nothing refers to (a refused ingest, a
        variant another writer recorded first). Only files ``put`` created here are removed."""
        if stored.created:
            stored.path.unlink(missing_ok=True)

    # -- reading ------------------------------------------------------------------------------

    def open(self, sha256: str, ext: str | None = None) -> BinaryIO:
        """Open a stored file for reading (``ext`` None: whichever extension it is stored under)."""
        return open(self.resolve(sha256, ext), "rb")

    def resolve(self, sha256: str, ext: str | None = None) -> Path:
        """The path of a stored file; NotFound if it is not stored."""
        if ext is not None:
            path = self.path_for(sha256, ext)
            if path.is_file():
                return path
        else:
            found = self.find(sha256)
            if found:
                return found[0]
        raise NotFound(f"asset {sha256[:12]} is not in the store at {self.root}")

    def verify(self, sha256: str, ext: str | None = None) -> bool:
        """Rehash the stored file(s) with this hash: True when every copy still matches."""
        paths = [self.resolve(sha256, ext)] if ext is not None else self.find(sha256)
        if not paths:
            raise NotFound(f"asset {sha256[:12]} is not in the store at {self.root}")
        return all(sha256_file(p) == sha256 for p in paths)

    # -- housekeeping -------------------------------------------------------------------------

    def sweep_temp(self, older_than_s: float = 24 * 3600, *, dead_writers_only: bool = False) -> int:
        """Delete temp files older than ``older_than_s`` (left by killed writers); return how many.
        Keep the age well above the longest copy time: a live writer's temp must not be swept.
        With ``dead_writers_only`` only temps whose writer process (its pid is in the name) is gone
        on this machine are removed, whatever their age (a worker starting up clears a crash's)."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for path in self.root.glob(f"{TEMP_PREFIX}*"):
            try:
                if dead_writers_only:
                    if scratch.owner_alive(path.name, TEMP_PREFIX):
                        continue
                    path.unlink()
                    removed += 1
                    continue
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another sweeper or its writer got there first
                continue
        return removed


def _copy_hashing(src: BinaryIO, out: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    size = 0
    readinto = getattr(src, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            chunk = view[:n] if n else b""
        else:
            chunk = src.read(CHUNK_SIZE)
            n = len(chunk)
        if not n:
            break
        digest.update(chunk)
        _write_all(out, chunk)
        size += n
    return digest.hexdigest(), size


def _write_all(out: BinaryIO, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:  # a raw file may write fewer bytes than asked
        written = out.write(view)
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
