"""Concurrent writers on one catalog: two worker processes and the test process (standing in
for the CLI) write at once, in short transactions, for a few seconds; afterwards every row
written is there exactly once, the database is intact, and no writer saw an error (on SQLite:
never "database is locked").

Each writer, per round:
1. one transaction: a new asset, a title, a variant in the title's own slot, an audit event
   (every 8th round also an analysis with 12 shots and 12 keyframes, and every 16th replaces it);
2. one transaction adding the next version of a slot that all writers share (the race
   ``add_variant`` documents: the loser's flush fails on the (slot_key, version) unique key and
   the writer retries the transaction, as the workers do);
3. one read-only transaction reading its own writes back.

Runs on SQLite (a WAL file) and on the PostgreSQL test server (tests/services.py).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

WRITE_SECONDS = float(os.environ.get("WORKBENCH_TEST_CONCURRENCY_SECONDS", "4"))
WORKER_PROCESSES = 2
SHARED_SLOT_RETRIES = 200
ANALYSIS_EVERY = 8


def _analysis(source_sha256: str, shots: int = 12):
    from workbench.analysis.types import Analysis, Box, FrameFeatures, Keyframe, Shot

    features = FrameFeatures(0.1, 0.5, 0.2, 0.3, 0.0, (0.5, 0.5), Box(0.2, 0.2, 0.5, 0.5))
    return Analysis(
        source_sha256=source_sha256,
        fps=24.0,
        frame_count=shots * 24,
        width=1280,
        height=720,
        duration=float(shots),
        shots=[Shot(i, i * 24, (i + 1) * 24, float(i), float(i + 1)) for i in range(shots)],
        keyframes=[Keyframe(i * 24 + 12, i + 0.5, None, i, features) for i in range(shots)],
        transitions=[],
        has_audio=False,
        params={"concurrency": True},
    )


def write_for(url: str, writer: str, shared_title_id: int, start_at: float, seconds: float) -> dict[str, Any]:
    """One writer's loop (in a worker process or in the test process). Returns what it wrote
    and every error it saw, instead of raising, so one failure does not hide the others."""
    from sqlalchemy.exc import IntegrityError

    from workbench.catalog import (
        AuditEvent,
        Title,
        Variant,
        add_asset_if_absent,
        add_variant,
        create_title,
        get_title,
        open_catalog,
        record_audit,
        save_analysis,
        stable_hash,
    )

    catalog = open_catalog(url)
    stats: dict[str, Any] = dict(
        writer=writer, rounds=0, titles=0, analyses=0, shared=0, shared_retries=0, reads=0, errors=[], slowest_txn_s=0.0
    )

    def timed(began: float) -> None:
        stats["slowest_txn_s"] = max(stats["slowest_txn_s"], time.perf_counter() - began)

    time.sleep(max(0.0, start_at - time.time()))
    deadline = start_at + seconds
    i = 0
    while time.time() < deadline and len(stats["errors"]) < 20:
        name = f"{writer}-{i}"
        try:
            # 1. a title with its asset, variant and audit event (and sometimes an analysis)
            began = time.perf_counter()
            with catalog.session() as session:
                asset = add_asset_if_absent(
                    session, sha256=stable_hash([writer, i]), kind="image", mime="image/jpeg", ext=".jpg", size_bytes=i + 1
                )
                title = create_title(session, name, asset)
                variant = add_variant(
                    session, title=title, asset=asset, kind="thumbnail", segment="action", format="16x9", recipe={"i": i}
                )
                record_audit(session, writer, "system", "generate", variant=variant, details={"i": i})
                if i % ANALYSIS_EVERY == 0:
                    analysis = _analysis(stable_hash(["source", writer, i // (2 * ANALYSIS_EVERY)]))
                    save_analysis(session, title, analysis)  # every other one replaces the previous
            timed(began)
            stats["titles"] += 1
            stats["analyses"] += i % ANALYSIS_EVERY == 0 and i % (2 * ANALYSIS_EVERY) == 0

            # 2. the next version of the slot every writer shares: retried when another writer won
            for _ in range(SHARED_SLOT_RETRIES):
                began = time.perf_counter()
                try:
                    with catalog.session() as session:
                        shared = session.get(Title, shared_title_id)
                        add_variant(
                            session,
                            title=shared,
                            asset=shared.source_asset,
                            kind="thumbnail",
                            segment="drama",
                            format="1x1",
                            recipe={"writer": writer, "i": i},
                        )
                    timed(began)
                    stats["shared"] += 1
                    break
                except IntegrityError as exc:
                    if "slot_key" not in str(exc) and "uq_variants" not in str(exc):
                        raise
                    stats["shared_retries"] += 1
            else:
                stats["errors"].append(f"shared slot: gave up after {SHARED_SLOT_RETRIES} tries")

            # 3. read our own writes back
            with catalog.session() as session:
                title = get_title(session, name)
                variants = session.scalars(sa.select(Variant).where(Variant.title_id == title.id)).all()
                events = session.scalars(sa.select(AuditEvent).where(AuditEvent.title_id == title.id)).all()
                if len(variants) != 1 or len(events) != 1 or events[0].details != {"i": i}:
                    stats["errors"].append(f"{name}: read back {len(variants)} variants, {len(events)} audit events")
            stats["reads"] += 1
        except Exception as exc:  # noqa: BLE001 - every error is a finding; the test asserts none
            stats["errors"].append(f"round {i}: {type(exc).__name__}: {exc}"[:600])
        i += 1
    stats["rounds"] = i
    catalog.close()
    return stats


def _prepare(url: str) -> int:
    """Migrate (once, before the writers start) and add the title whose slot everyone shares."""
    from workbench.catalog import add_asset_if_absent, create_title, open_catalog

    catalog = open_catalog(url)
    with catalog.session() as session:
        asset = add_asset_if_absent(session, sha256="5" * 64, kind="video", mime="video/mp4", ext=".mp4", size_bytes=1)
        title_id = create_title(session, "Shared", asset).id
    return title_id


def _run_writers(url: str) -> list[dict[str, Any]]:
    shared_title_id = _prepare(url)
    # spawn: fresh interpreters, as separate worker processes are (no state inherited from the test)
    with ProcessPoolExecutor(WORKER_PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        # warm-up: the children import the workbench before the clock starts
        list(pool.map(_noop, range(WORKER_PROCESSES * 4)))
        start_at = time.time() + 1.0
        futures = [
            pool.submit(write_for, url, f"worker{n}", shared_title_id, start_at, WRITE_SECONDS)
            for n in range(WORKER_PROCESSES)
        ]
        mine = write_for(url, "cli", shared_title_id, start_at, WRITE_SECONDS)  # the test process writes too
        results = [f.result(timeout=120) for f in futures] + [mine]
    return results


def _noop(_: int) -> None:
    import workbench.catalog  # noqa: F401

    time.sleep(0.05)


def _check(url: str, results: list[dict[str, Any]]) -> None:
    from workbench.catalog import Analysis, Asset, AuditEvent, Keyframe, Shot, Title, Variant
    from workbench.catalog.db import create_catalog_engine

    summary = ", ".join(
        f"{r['writer']}: {r['rounds']} rounds, {r['shared_retries']} shared-slot retries, slowest txn {r['slowest_txn_s'] * 1000:.0f} ms"
        for r in results
    )
    print(f"\n{url.split(':')[0]}: {summary}")
    errors = [f"{r['writer']}: {e}" for r in results for e in r["errors"]]
    assert errors == [], "writers saw errors:\n" + "\n".join(errors)
    assert all(r["rounds"] >= 5 for r in results), f"a writer barely ran: {summary}"

    titles = sum(r["titles"] for r in results)
    shared = sum(r["shared"] for r in results)
    engine = create_catalog_engine(url)
    try:
        with engine.connect() as connection:
            count = lambda model: connection.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()  # noqa: E731
            assert count(Title) == titles + 1  # + the shared one
            assert count(Asset) == titles + 1
            assert count(AuditEvent) == titles
            assert count(Variant) == titles + shared
            assert count(Analysis) == sum(r["analyses"] for r in results)
            assert count(Shot) == count(Keyframe) == 12 * count(Analysis)  # replaced analyses left nothing behind
            versions = connection.execute(
                sa.select(Variant.version).where(Variant.segment == "drama").order_by(Variant.version)
            ).scalars().all()
            assert versions == list(range(1, shared + 1))  # no gap, no duplicate
            if engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'catalog.sqlite'}"
    return request.getfixturevalue("postgres_url")


def test_read_then_write_after_another_commit(db_url: str) -> None:
    """The pattern every writer has (look up, then insert) while another process commits in
    between must simply work. On SQLite this pins the transaction handling: a session whose
    deferred ``BEGIN`` came before its first read fails here at once with "database is locked"
    (SQLITE_BUSY_SNAPSHOT: a stale read snapshot cannot become a writer, and busy_timeout does
    not help), which is what the "fix pysqlite's BEGIN" recipe does. As configured, pysqlite
    opens the transaction at the first write, which then waits for the lock (busy_timeout)."""
    from workbench.catalog import Asset, add_asset_if_absent, open_catalog
    from workbench.catalog.db import create_catalog_engine

    catalog = open_catalog(db_url)
    other = create_catalog_engine(db_url)  # another process's connection
    try:
        with catalog.session() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 0  # read first
            with other.begin() as connection:  # meanwhile another writer commits
                connection.execute(
                    sa.insert(Asset).values(sha256="b" * 64, kind="image", mime="image/png", ext=".png", size_bytes=1)
                )
            add_asset_if_absent(session, sha256="a" * 64, kind="image", mime="image/png", ext=".png", size_bytes=1)
        with catalog.session() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 2
    finally:
        other.dispose()
        catalog.close()


@pytest.mark.slow
def test_concurrent_writers_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'home' / 'catalog.sqlite'}"
    try:
        _check(url, _run_writers(url))
    finally:
        from workbench.catalog import close_all_catalogs

        close_all_catalogs()


@pytest.mark.slow
def test_concurrent_writers_postgresql(postgres_url: str) -> None:
    _check(postgres_url, _run_writers(postgres_url))
