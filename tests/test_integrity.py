"""Data and delivery integrity under concurrency and bad state: exports never share a name and
the audit records the bytes on disk; the same recipe makes one row and one file whatever the
concurrency; one bad stored file blocks only its variant; a refused ingest stores nothing;
friendly copies never collide; no run leaves temp files behind.

The concurrency tests run each race many times, released by a barrier, and check the invariant
every time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from generators.thumbnails.generator import ThumbnailParams
from tests.review_helpers import AD_OPS, LOCALIZER, make_writable
from workbench import review, scratch, workflow
from workbench.catalog import AuditEvent, Variant, open_catalog
from workbench.errors import InvalidInput
from workbench.export import _deliver_isolated, export_approved
from workbench.settings import Settings
from workbench.store import AssetStore, sha256_file

ITERATIONS = 20


def _race(n: int, fn) -> list:
    """Run ``fn(i)`` on ``n`` threads released together; return results (or raised exceptions)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


# -- 1. concurrent exports ----------------------------------------------------------------------


def test_concurrent_exports_never_share_a_name_and_the_audit_matches_the_zip(wb, tpl, tmp_path) -> None:
    review.decide(LOCALIZER, list(tpl.variant_ids[:2]), "approve", settings=wb)
    out = tmp_path / "deliveries"
    for _ in range(ITERATIONS):
        results = _race(2, lambda i: export_approved(AD_OPS, out, settings=wb))
        assert not [r for r in results if isinstance(r, BaseException)], results
        zips = [r.zip_path for r in results]
        assert len(set(zips)) == 2 and len({r.folder for r in results}) == 2
        for r in results:
            assert zipfile.ZipFile(r.zip_path).testzip() is None
            assert {f.path.parent.parent for f in r.files if f.arcname.count("/") == 1} <= {r.folder}
    # every audited zip is exactly the file on disk, and no staging folder or temp is left
    with open_catalog(wb).session() as s:
        events = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert len(events) == 2 * ITERATIONS
    assert len({e.details["zip"] for e in events}) == 2 * ITERATIONS
    for e in events:
        assert sha256_file(out / e.details["zip"]) == e.details["zip_sha256"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


# -- 2. concurrent generation --------------------------------------------------------------------


def test_the_same_recipe_makes_one_row_and_one_file_whatever_the_concurrency(home, sample_title) -> None:
    settings = Settings()
    workflow.ingest(sample_title.path, "Race")
    workflow.analyze_title("Race")
    store = AssetStore(settings.store_dir)
    for i in range(ITERATIONS):
        # a new recipe each round (its own title text), asked for by two runs at once
        params = ThumbnailParams(segments=("action",), formats=("16x9",), top_k=1, title_text=f"Round {i}")
        results = _race(2, lambda _n: workflow.generate("thumbnail", "Race", params))
        assert not [r for r in results if isinstance(r, BaseException)], results
        ids = {v.variant_id for r in results for v in r.variants}
        assert len(ids) == 1, f"round {i}: {ids}"
        assert sum(not v.reused for r in results for v in r.variants) <= 2  # both may have rendered...
    with open_catalog(settings).session() as s:
        variants = s.scalars(sa.select(Variant)).all()
        assert len(variants) == ITERATIONS  # ...but each recipe is one row
        assert len({(v.slot_key, v.recipe_key) for v in variants}) == ITERATIONS
        referenced = {v.asset.sha256 for v in variants} | {variants[0].title.source_asset.sha256}
    stored = {f.sha256 for f in store.iter_files()}
    assert stored == referenced  # one file per row: a race's losing file was taken back


def test_two_thumbnail_commands_at_once_make_one_set(home, sample_title, tmp_path) -> None:
    """The reported case, with two real processes: 2 segments x 2 formats x top-2 = 8 slots."""
    workflow.ingest(sample_title.path, "Twice")
    workflow.analyze_title("Twice")
    cmd = [sys.executable, "-m", "workbench", "thumbnails", "Twice", "--segments", "action,romance",
           "--formats", "16x9,1x1", "--top-k", "2", "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy()) for _ in range(2)]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    with open_catalog(Settings()).session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Variant)) == 8
        assert s.scalar(sa.select(sa.func.count(sa.distinct(Variant.slot_key))).select_from(Variant)) == 8


# -- 3. one bad stored file, a bad --out ---------------------------------------------------------


@pytest.mark.parametrize("replace_with", ["directory", "fifo", "symlink_to_directory", "empty_file"])
def test_a_bad_stored_file_blocks_only_its_variant(wb, tpl, tmp_path, replace_with) -> None:
    review.decide(LOCALIZER, list(tpl.variant_ids), "approve", settings=wb)
    victim = review.get_rows([tpl.variant_ids[0]], settings=wb)[0]
    make_writable(victim.file_path)
    victim.file_path.unlink()
    if replace_with == "directory":
        victim.file_path.mkdir()
    elif replace_with == "fifo":
        os.mkfifo(victim.file_path)
    elif replace_with == "symlink_to_directory":
        victim.file_path.symlink_to(tmp_path)
    else:
        victim.file_path.write_bytes(b"")
    result = export_approved(AD_OPS, tmp_path / "out", settings=wb)
    assert [vid for vid, _ in result.blocked] == [victim.id]
    assert "cannot be read" in result.blocked[0][1] or "altered" in result.blocked[0][1]
    assert result.variants == len(tpl.variant_ids) - 1


def test_a_variant_whose_deliveries_fail_is_blocked_alone(wb, tpl, tmp_path) -> None:
    """The render step is an isolation boundary too: bytes that verified but do not decode (here
    handed in directly) block that variant with the reason and leave nothing of it behind."""
    from datetime import UTC, datetime

    from provenance import load_identity
    from workbench.deliveries import ApprovedVariant, ExportContext

    [row] = review.get_rows([tpl.variant_ids[0]], settings=wb)
    staging = tmp_path / "staging"
    staging.mkdir()
    item = ApprovedVariant(row, data=b"\xff\xd8\xff not really a jpeg")
    files = _deliver_isolated(item, ExportContext(staging, load_identity(wb), datetime.now(UTC), wb))
    assert files == [] and item.reason.startswith("its deliveries could not be made")
    assert not [p for p in staging.rglob("*") if p.is_file()]


@pytest.mark.parametrize("out", ["/dev/null/x", "/proc/x/y", "FILE", "FILE/below"])
def test_an_unusable_out_folder_is_one_line(wb, tpl, tmp_path, out) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app

    review.decide(LOCALIZER, [tpl.variant_ids[0]], "approve", settings=wb)
    (tmp_path / "FILE").write_text("a file, not a folder")
    target = out.replace("FILE", str(tmp_path / "FILE"))
    r = CliRunner().invoke(app, ["export", "--out", target])
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --out "), r.output
    assert "Traceback" not in r.output


# -- 4/5. ingest: what is probed is stored; a refusal stores nothing -----------------------------


def _store_files(settings: Settings) -> list[Path]:
    root = settings.store_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_refused_ingest_leaves_nothing_in_the_store(home, sample_title, tmp_path) -> None:
    settings = Settings()
    workflow.ingest(sample_title.path, "Taken")
    before = _store_files(settings)
    other = tmp_path / "other.png"
    Image.new("RGB", (640, 360), (200, 30, 30)).save(other)
    refusals = [
        (other, "Taken"),  # the name is taken by another file
        (tmp_path / "garbage.mp4", None),  # not a video
        (tmp_path / "trunc.png", None),  # a truncated image
    ]
    (tmp_path / "garbage.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(5000))
    data = other.read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    for path, name in refusals:
        with pytest.raises(InvalidInput):
            workflow.ingest(path, name)
        assert _store_files(settings) == before, path.name
    # the same file under its own name again is "already ingested", and stores nothing new
    again = workflow.ingest(sample_title.path, "Taken")
    assert not again.created and _store_files(settings) == before


def test_ingest_stores_the_bytes_it_probed_for_colon_names(home, tmp_path, monkeypatch) -> None:
    """``concat:good.mp4`` is a file of that name, not FFmpeg's concat protocol over good.mp4."""
    from tests.conftest import lavfi_video

    monkeypatch.chdir(tmp_path)
    lavfi_video(tmp_path / "good.mp4", "testsrc2=size=320x240:rate=25", 2)
    (tmp_path / "concat:good.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"garbage" * 500)
    with pytest.raises(InvalidInput):
        workflow.ingest(Path("concat:good.mp4"), "Trick")
    assert _store_files(Settings()) == []
    (tmp_path / "take2:final.mp4").write_bytes((tmp_path / "good.mp4").read_bytes())
    result = workflow.ingest(Path("take2:final.mp4"))
    assert result.title_name == "take2:final" and result.sha256 == sha256_file(tmp_path / "good.mp4")
    assert result.stored_path.read_bytes() == (tmp_path / "good.mp4").read_bytes()


def test_concurrent_ingests_of_one_name_make_one_title(home, tmp_path) -> None:
    for i in range(ITERATIONS):
        a, b = tmp_path / f"a{i}.png", tmp_path / f"b{i}.png"
        Image.new("RGB", (320, 200), (i, 10, 10)).save(a)
        Image.new("RGB", (320, 200), (10, i, 200)).save(b)
        results = _race(2, lambda n: workflow.ingest([a, b][n], f"Same {i}"))
        ok = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, InvalidInput)]
        assert len(ok) == 1 and len(refused) == 1, results
        assert "already exists with another source file" in str(refused[0])
    settings = Settings()
    with open_catalog(settings).session() as s:
        from workbench.catalog import Asset

        shas = set(s.scalars(sa.select(Asset.sha256)))
    assert {f.sha256 for f in AssetStore(settings.store_dir).iter_files()} == shas  # the loser's copy is gone


# -- 6. friendly copies ------------------------------------------------------------------------


def test_friendly_folders_are_unique_per_title(home, tmp_path) -> None:
    settings = Settings()
    from skimage import data as pictures

    names = ["日本", "中国", "Show A", "Show-A"]
    folders = []
    photo = Image.fromarray(pictures.astronaut())  # a real picture: detail, a face
    for n, name in enumerate(names):
        path = tmp_path / f"still{n}.png"
        photo.rotate(90 * n).save(path)  # different bytes per title
        workflow.ingest(path, name)
        result = workflow.generate("thumbnail", name, ThumbnailParams(segments=("action",), formats=("16x9",), top_k=1))
        [v] = result.variants
        folders.append(v.export_path.parent)
        assert v.export_path.read_bytes() == v.path.read_bytes()
    assert len(set(folders)) == len(names)
    assert all(f.parent == settings.output_dir for f in folders)


# -- 8. leftovers ------------------------------------------------------------------------------


def test_reruns_leave_no_temp_links(home, sample_title) -> None:
    settings = Settings()
    workflow.ingest(sample_title.path, "Again")
    params = ThumbnailParams(segments=("action",), formats=("16x9", "1x1"), top_k=2)
    for _ in range(3):
        result = workflow.generate("thumbnail", "Again", params)
    folder = result.variants[0].export_path.parent
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    assert not list((settings.home / "tmp").iterdir())


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from workbench.settings import Settings
from workbench.store import AssetStore
from workbench.workflow import render_folder
settings = Settings()
with render_folder(settings) as tmp:
    (tmp / "half.jpg").write_bytes(b"x" * 100000)
    store = AssetStore(settings.store_dir)
    src = Path(sys.argv[1])
    with store.staged(src):
        print("ready", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_run_leaves_temps_that_the_next_command_sweeps(home, tmp_path) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app

    settings = Settings()
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(1 << 20))
    proc = subprocess.run([sys.executable, "-c", KILLED_RUN, str(src)], capture_output=True, text=True, timeout=120,
                          env=os.environ.copy())
    assert proc.returncode == -signal.SIGKILL and "ready" in proc.stdout, proc.stderr
    left = [p for p in (settings.home / "tmp").iterdir()] + list(settings.store_dir.glob(".tmp-*"))
    assert len(left) == 2  # the render folder and the store temp of the dead process
    # a temp of a live process (this one) and of another machine are not touched
    mine = settings.store_dir / scratch.temp_name(scratch.TEMP_PREFIX)
    mine.write_bytes(b"in progress")
    theirs = settings.store_dir / f"{scratch.TEMP_PREFIX}otherhost-1-abcdef"
    theirs.write_bytes(b"another machine's copy")
    r = CliRunner().invoke(app, ["titles", "--json"])
    assert r.exit_code == 0, r.output
    assert not [p for p in (settings.home / "tmp").iterdir()]
    assert sorted(settings.store_dir.glob(".tmp-*")) == sorted([mine, theirs])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs procfs to see a zombie")
def test_a_dead_but_unreaped_owner_counts_as_gone(home) -> None:
    """A killed worker's children can stay zombies (a container's first process that does not
    reap orphans): their temps are still swept."""
    settings = Settings()
    pid = os.fork()
    if pid == 0:  # the child exits at once and is not reaped until the end of this test
        os._exit(0)
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        folder = settings.home / "tmp" / f"{scratch.RENDER_PREFIX}{scratch.host_tag()}-{pid}-abcdef012345"
        folder.mkdir(parents=True)
        (folder / "part.mp4").write_bytes(b"half a render")
        assert scratch.sweep(settings.home) == 1 and not folder.exists()
    finally:
        os.waitpid(pid, 0)


def test_upgrading_a_catalog_with_duplicate_recipes_keeps_every_row(tmp_path) -> None:
    """Catalogs made before the unique (slot, recipe) key may hold the duplicates this fixes: the
    upgrade keeps every row, keys the first of each recipe and leaves the copies unkeyed."""
    from workbench.catalog.db import create_catalog_engine, upgrade

    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade(engine, "0003")
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO assets (id, sha256, kind, mime, ext, size_bytes, has_audio, created_at) "
                          "VALUES (1, '" + "a" * 64 + "', 'image', 'image/jpeg', '.jpg', 1, 0, '2026-11-30 00:00:00')")
        c.exec_driver_sql("INSERT INTO titles (id, name, source_asset_id, created_at) VALUES (1, 'Old', 1, '2026-11-30 00:00:00')")
        for vid, version, key in ((1, 1, "k1"), (2, 2, "k1"), (3, 3, "k2")):
            c.exec_driver_sql(
                "INSERT INTO variants (id, title_id, asset_id, kind, slot_key, version, recipe, review_status, created_at) "
                f"VALUES ({vid}, 1, 1, 'thumbnail', '1/thumbnail/-/-/16x9', {version}, '{{\"recipe_key\": \"{key}\"}}', "
                "'pending', '2026-11-30 00:00:00')")
    upgrade(engine)
    with engine.connect() as c:
        rows = c.exec_driver_sql("SELECT id, recipe_key FROM variants ORDER BY id").all()
    assert [tuple(r) for r in rows] == [(1, "k1"), (2, None), (3, "k2")]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as c:
        c.exec_driver_sql("UPDATE variants SET recipe_key = 'k1' WHERE id = 3")
    engine.dispose()
