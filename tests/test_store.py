"""The content-addressed asset store: layout, atomicity, de-duplication, concurrency, streaming."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from workbench.errors import InvalidInput, NotFound
from workbench.store import TEMP_PREFIX, AssetStore, StoredFile, sha256_file


def _temps(root: Path) -> list[Path]:
    return list(root.glob(f"{TEMP_PREFIX}*"))


def _stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]


@pytest.fixture
def store(tmp_path: Path) -> AssetStore:
    return AssetStore(tmp_path / "store")


def test_put_bytes_layout(store: AssetStore) -> None:
    data = b"hello workbench"
    sha = hashlib.sha256(data).hexdigest()

    stored = store.put_bytes(data, "TXT")

    assert stored == StoredFile(sha256=sha, path=store.root / sha[:2] / sha[2:4] / f"{sha}.txt", size=len(data), ext=".txt")
    assert stored.path.read_bytes() == data
    assert store.path_for(sha, ".txt") == stored.path
    assert store.exists(sha) and store.exists(sha, "txt") and not store.exists(sha, ".bin")
    with store.open(sha) as f:
        assert f.read() == data
    assert [f.sha256 for f in store.iter_files()] == [sha]


def test_put_file_hashes_like_sha256_file(store: AssetStore, tmp_path: Path) -> None:
    src = tmp_path / "clip.MP4"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # not a multiple of the chunk size

    stored = store.put_file(src)

    assert stored.ext == ".mp4"  # taken from the source, lower-cased
    assert stored.sha256 == sha256_file(src) == hashlib.sha256(src.read_bytes()).hexdigest()
    assert stored.size == src.stat().st_size
    assert stored.path.read_bytes() == src.read_bytes()


def test_same_content_twice_is_one_file(store: AssetStore, tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"\x89PNG same bytes")

    first = store.put_file(src)
    second = store.put_bytes(src.read_bytes(), ".png")
    third = store.put_file(src, "png")

    assert first == second == third
    assert _stored_files(store.root) == [first.path]
    assert _temps(store.root) == []


class _FailingReader(io.RawIOBase):
    """A source that yields some bytes, then fails like a dying disk or a dropped upload."""

    def __init__(self, good_bytes: int) -> None:
        self.left = good_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self.left <= 0:
            raise OSError("read error after partial copy")
        n = min(len(buffer), self.left, 256 * 1024)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


def test_failed_copy_leaves_nothing(store: AssetStore) -> None:
    with pytest.raises(OSError, match="partial copy"):
        store.put_stream(_FailingReader(good_bytes=3 * 1024 * 1024), ".mp4")

    assert _stored_files(store.root) == []
    assert _temps(store.root) == []


def test_partial_file_is_never_visible_under_a_final_name(store: AssetStore) -> None:
    """While a copy is under way only a temp file exists; a reader listing the store sees nothing."""
    seen_during_copy: list[list[Path]] = []
    temps_during_copy: list[int] = []

    class SlowReader(_FailingReader):
        def readinto(self, buffer) -> int:  # type: ignore[override]
            seen_during_copy.append(_stored_files(store.root))
            temps_during_copy.append(len(_temps(store.root)))
            return super().readinto(buffer)

    with pytest.raises(OSError):
        store.put_stream(SlowReader(good_bytes=1024 * 1024), ".bin")

    assert len(seen_during_copy) > 1 and all(files == [] for files in seen_during_copy)
    assert set(temps_during_copy) == {1}  # the bytes went to a temp file
    assert list(store.iter_files()) == [] and _temps(store.root) == []


def test_concurrent_threads_same_content(store: AssetStore, tmp_path: Path) -> None:
    data = os.urandom(2 * 1024 * 1024)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    start = threading.Barrier(8)

    def put(i: int) -> StoredFile:
        start.wait()
        return store.put_file(src, ".bin") if i % 2 else store.put_bytes(data, ".bin")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(put, range(8)))

    assert len({r.path for r in results}) == 1
    assert _stored_files(store.root) == [results[0].path]
    assert _temps(store.root) == []
    assert store.verify(results[0].sha256)


def _put_in_process(root: str, src: str, start_at: float) -> str:
    time.sleep(max(0.0, start_at - time.time()))  # line the processes up
    return str(AssetStore(Path(root)).put_file(Path(src), ".bin").path)


def test_concurrent_processes_same_content(store: AssetStore, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(4 * 1024 * 1024))
    start_at = time.time() + 0.5

    with ProcessPoolExecutor(4) as pool:
        paths = list(pool.map(_put_in_process, [str(store.root)] * 4, [str(src)] * 4, [start_at] * 4))

    assert len(set(paths)) == 1
    assert _stored_files(store.root) == [Path(paths[0])]
    assert _temps(store.root) == []
    assert Path(paths[0]).read_bytes() == src.read_bytes()


def test_verify_detects_corruption(store: AssetStore) -> None:
    stored = store.put_bytes(b"pristine bytes of a variant", ".jpg")
    assert store.verify(stored.sha256)

    os.chmod(stored.path, 0o644)  # stored files are read-only; a tamperer would not care
    with open(stored.path, "r+b") as f:
        f.write(b"P")

    assert not store.verify(stored.sha256)
    assert not store.verify(stored.sha256, ".jpg")


def test_stored_files_are_read_only(store: AssetStore) -> None:
    stored = store.put_bytes(b"immutable", ".txt")
    assert stored.path.stat().st_mode & 0o222 == 0


def test_sweep_removes_only_stale_temps(store: AssetStore) -> None:
    stored = store.put_bytes(b"keep me", ".txt")
    stale = store.root / f"{TEMP_PREFIX}12345-dead"
    fresh = store.root / f"{TEMP_PREFIX}12345-live"
    stale.write_bytes(b"half a file")
    fresh.write_bytes(b"a copy in progress")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))

    assert store.sweep_temp(older_than_s=3600) == 1

    assert not stale.exists() and fresh.exists() and stored.path.exists()
    assert [f.path for f in store.iter_files()] == [stored.path]  # temps never listed
    assert AssetStore(store.root / "missing").sweep_temp() == 0


def test_large_file_is_streamed(store: AssetStore, tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    src = tmp_path / "big.mkv"
    with open(src, "wb") as f:  # sparse: costs no disk blocks to create
        f.truncate(size)
        f.seek(size - 5)
        f.write(b"tail!")
    expected = hashlib.sha256()
    expected.update(bytes(size - 5))
    expected.update(b"tail!")

    tracemalloc.start()
    try:
        stored = store.put_file(src)
        digest = sha256_file(stored.path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored.sha256 == digest == expected.hexdigest()
    assert stored.size == size
    assert peak < 8 * 1024 * 1024, f"peak Python memory {peak / 2**20:.1f} MiB: the file was not streamed"


def test_bad_inputs_fail_fast(store: AssetStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="extension"):
        store.put_bytes(b"x", "../../etc/passwd")
    with pytest.raises(InvalidInput, match="sha256"):
        store.path_for("not-a-hash", ".jpg")
    with pytest.raises(NotFound, match="no file"):
        store.put_file(tmp_path / "missing.mp4")
    with pytest.raises(NotFound, match="not in the store"):
        store.open("0" * 64)
    with pytest.raises(NotFound):
        store.verify("0" * 64)
    assert not store.root.exists() or _stored_files(store.root) == []
