"""The catalog: migrations, connection settings, repo helpers, append-only events.

Every test that touches a database runs twice: on a SQLite file and on a real PostgreSQL server
(``postgres_url`` from tests/services.py: a throwaway cluster, a fresh database per test; skipped
with the reason when PostgreSQL is not installed, failed instead under CI)."""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError, StatementError

from workbench.analysis.types import Analysis, Box, Face, FrameFeatures, Keyframe, Shot, Transition
from workbench.catalog import (
    AppendOnlyError,
    Asset,
    AuditEvent,
    Base,
    Catalog,
    Job,
    ReviewEvent,
    Variant,
    add_asset_if_absent,
    add_variant,
    create_title,
    get_title,
    list_titles,
    load_analysis,
    models,
    next_variant_version,
    open_catalog,
    params_hash,
    record_audit,
    save_analysis,
    slot_key,
)
from workbench.catalog.db import alembic_config, create_catalog_engine, current_revision, head_revision, upgrade
from workbench.errors import InvalidInput, NotFound, WorkbenchError
from workbench.settings import Settings, reset_settings_cache


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database's URL: a SQLite file under tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'catalog.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def catalog(db_url: str) -> Catalog:
    catalog = open_catalog(db_url)
    yield catalog
    catalog.close()


@pytest.fixture
def sqlite_catalog(tmp_path: Path) -> Catalog:
    catalog = open_catalog(f"sqlite:///{tmp_path / 'home' / 'catalog.sqlite'}")
    yield catalog
    catalog.close()


def _count(engine: sa.Engine, model: type) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _asset(session, sha_char: str = "a", **fields) -> Asset:
    values = dict(sha256=sha_char * 64, kind="video", mime="video/mp4", ext=".mp4", size_bytes=1234)
    return add_asset_if_absent(session, **{**values, **fields})


def _title(session, name: str = "Sintel"):
    return create_title(session, name, _asset(session, sha_char=str(len(name) % 10)))


def _analysis(source_sha256: str = "f" * 64, **overrides) -> Analysis:
    features = FrameFeatures(
        sharpness=412.75,
        brightness=0.4123456789012345,
        contrast=0.21,
        colourfulness=0.33,
        warmth=-0.05,
        saliency_center=(0.51, 0.47),
        saliency_box=Box(0.25, 0.2, 0.5, 0.6),
        tags=("outdoor", "night"),
    )
    faces = (
        Face(Box(0.1, 0.2, 0.15, 0.2), confidence=0.98, smile=0.7, landmarks=((0.13, 0.25), (0.2, 0.25), (0.17, 0.3))),
        Face(Box(0.6, 0.25, 0.1, 0.14), confidence=0.81),
    )
    values = dict(
        source_sha256=source_sha256,
        fps=23.976023976023978,
        frame_count=240,
        width=1280,
        height=534,
        duration=10.01,
        shots=[
            Shot(0, 0, 100, 0.0, 4.170837504170838, motion=0.12, loudness_lufs=-23.5),
            Shot(1, 100, 180, 4.170837504170838, 7.507507507507508, motion=0.4, loudness_lufs=None),
            Shot(2, 180, 240, 7.507507507507508, 10.01),
        ],
        keyframes=[
            Keyframe(frame=40, time=1.668, pts=20020, shot=0, features=features, faces=faces, motion=0.1),
            Keyframe(frame=12, time=0.5, pts=None, shot=0, features=features, flags=("blurred",)),  # out of frame order on purpose
            Keyframe(frame=150, time=6.256, pts=75075, shot=1, features=features, faces=faces[1:], flags=("black", "transition")),
        ],
        transitions=[
            Transition("cut", 100, 100, 61.5),
            Transition("dissolve", 170, 185, 18.25),
        ],
        has_audio=True,
        params={"analysis_width": 320, "cut_threshold": 27.0, "detectors": ["content", "fade"]},
        timings={"decode": 1.25, "faces": 0.5},
    )
    return Analysis(**{**values, **overrides})


# -- migrations and connection ----------------------------------------------------------------


def test_migrations_create_every_table(catalog: Catalog) -> None:
    tables = set(sa.inspect(catalog.engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert head_revision() is not None
    assert current_revision(catalog.engine) == head_revision()


def test_migrations_match_models(catalog: Catalog) -> None:
    """Autogenerate finds nothing to do, on this backend's reflected schema."""
    with catalog.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == [], "models and migrations disagree; add a migration (see workbench/catalog/__main__.py)"


def test_migrations_render_for_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing SQLite-only: the same migration renders as PostgreSQL DDL (offline, no server)."""
    command.upgrade(alembic_config("postgresql://workbench@db.invalid/workbench"), "head", sql=True)
    ddl = capsys.readouterr().out
    assert "CREATE TABLE variants" in ddl and "TIMESTAMP WITH TIME ZONE" in ddl
    assert "CONSTRAINT ck_jobs_job_state CHECK" in ddl
    assert "PRAGMA" not in ddl.upper()


def test_open_from_settings_creates_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "new" / "home"))
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    reset_settings_cache()
    try:
        catalog = open_catalog()
        assert catalog is open_catalog(Settings())
        assert (tmp_path / "new" / "home" / "catalog.sqlite").is_file()
        catalog.close()
    finally:
        reset_settings_cache()


def test_open_from_settings_database_url(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WORKBENCH_DATABASE_URL names PostgreSQL, written as the README writes it (plain
    ``postgresql://``: SQLAlchemy 2.1 picks psycopg 3 for it); nothing is created under the home."""
    assert postgres_url.startswith("postgresql+psycopg://")
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", postgres_url.replace("postgresql+psycopg://", "postgresql://", 1))
    reset_settings_cache()
    try:
        catalog = open_catalog()
        assert catalog is open_catalog(Settings())
        assert catalog.engine.dialect.name == "postgresql"
        assert current_revision(catalog.engine) == head_revision()
        assert not (tmp_path / "home" / "catalog.sqlite").exists()
        catalog.close()
    finally:
        reset_settings_cache()


def test_sqlite_pragmas(sqlite_catalog: Catalog) -> None:
    with sqlite_catalog.engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 30000
        assert pragma("synchronous") == 1  # NORMAL


def test_open_is_cached_and_idempotent(db_url: str) -> None:
    url = db_url
    first = open_catalog(url)
    assert open_catalog(url) is first
    first.close()
    again = open_catalog(url)  # a new process would do this: migrations already at head
    try:
        assert again is not first and current_revision(again.engine) == head_revision()
    finally:
        again.close()


def test_failed_upgrade_leaves_no_half_schema(db_url: str) -> None:
    engine = create_catalog_engine(db_url)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def fail_midway(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("CREATE TABLE VARIANTS"):
            raise RuntimeError("killed mid-migration")

    with pytest.raises(RuntimeError, match="mid-migration"):
        upgrade(engine)
    assert sa.inspect(engine).get_table_names() == []  # the whole upgrade rolled back

    sa.event.remove(engine, "before_cursor_execute", fail_midway)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_catalog_from_a_newer_workbench_is_refused(db_url: str) -> None:
    url = db_url
    open_catalog(url).close()
    engine = create_catalog_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    engine.dispose()
    with pytest.raises(WorkbenchError, match="newer than this workbench knows"):
        open_catalog(url)


def _open_in_process(url: str, start_at: float) -> str | None:
    time.sleep(max(0.0, start_at - time.time()))
    catalog = open_catalog(url)
    with catalog.session() as session:
        record_audit(session, "worker", "system", "started")
    return current_revision(catalog.engine)


def test_concurrent_first_open_from_processes(db_url: str) -> None:
    """Four processes open an empty database at once (on SQLite, in a folder that does not
    exist yet): one migrates, the others wait for it (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
    advisory lock), then all write."""
    url = db_url
    start_at = time.time() + 0.5
    with ProcessPoolExecutor(4) as pool:
        revisions = list(pool.map(_open_in_process, [url] * 4, [start_at] * 4))
    assert revisions == [head_revision()] * 4
    engine = create_catalog_engine(url)
    assert _count(engine, AuditEvent) == 4
    engine.dispose()


# -- titles and assets ------------------------------------------------------------------------


def test_titles_by_id_and_name(catalog: Catalog) -> None:
    with catalog.session() as session:
        sintel = _title(session, "Sintel")
        film = _title(session, "1917")
    with catalog.session() as session:
        assert get_title(session, "Sintel").id == sintel.id
        assert get_title(session, sintel.id).name == "Sintel"
        assert get_title(session, str(sintel.id)).name == "Sintel"
        assert get_title(session, "1917").id == film.id  # a name wins over an id
        assert [t.name for t in list_titles(session)] == ["Sintel", "1917"]


def test_missing_title_message(catalog: Catalog) -> None:
    with catalog.session() as session:
        with pytest.raises(NotFound) as excinfo:
            get_title(session, "Cosmos Laundromat")
        assert str(excinfo.value) == "no title 'Cosmos Laundromat'; run `workbench ingest` first or see `workbench titles`"
        with pytest.raises(NotFound, match="no title 42"):
            get_title(session, 42)


def test_duplicate_title_name_is_refused(catalog: Catalog) -> None:
    with catalog.session() as session:
        _title(session, "Sintel")
        with pytest.raises(InvalidInput, match="already exists"):
            create_title(session, "Sintel", _asset(session))


def test_asset_dedupe_and_sanitised_name(catalog: Catalog) -> None:
    with catalog.session() as session:
        first = _asset(session, original_name="C:\\Users\\ed\\..\\\x00trail\u202eer 4K.mov  ")
        second = _asset(session, original_name="other.mov")
        assert first is second
        assert first.original_name == "trailer 4K.mov"
    with catalog.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 1


def test_timestamps_are_utc_aware(catalog: Catalog) -> None:
    with catalog.session() as session:
        asset_id = _asset(session).id
    with catalog.session() as session:
        created = session.get(Asset, asset_id).created_at
        assert created.tzinfo is UTC
        assert abs((datetime.now(UTC) - created).total_seconds()) < 60
    with pytest.raises(StatementError, match="naive datetime"):
        with catalog.session() as session:
            _asset(session, sha_char="b", created_at=datetime(2024, 1, 1))


def test_closed_sets_are_checked(catalog: Catalog) -> None:
    with pytest.raises(StatementError):
        with catalog.session() as session:
            _asset(session, kind="hologram")  # (audio became a kind: music beds)
    with pytest.raises(StatementError):
        with catalog.session() as session:
            title = _title(session)
            session.add(Job(key="k" * 64, kind="thumbnails", title=title, state="paused"))
            session.flush()


# -- analysis ---------------------------------------------------------------------------------


def test_analysis_round_trip_is_lossless(catalog: Catalog) -> None:
    original = _analysis()
    with catalog.session() as session:
        save_analysis(session, _title(session), original)

    with catalog.session() as session:
        loaded = load_analysis(session, original.source_sha256, original.analyzer_version, params_hash(original.params))

    assert loaded == original
    assert loaded.keyframes[0].faces[0].landmarks == ((0.13, 0.25), (0.2, 0.25), (0.17, 0.3))
    assert loaded.keyframes[0].features.saliency_center == (0.51, 0.47)
    assert loaded.to_dict() == original.to_dict()


def test_save_analysis_replaces_same_key(catalog: Catalog) -> None:
    first = _analysis()
    second = _analysis(shots=first.shots[:1], keyframes=first.keyframes[:1], transitions=[], timings={"decode": 9.0})
    other_params = _analysis(params={"analysis_width": 640})
    with catalog.session() as session:
        title = _title(session)
        save_analysis(session, title, first)
        save_analysis(session, title, other_params)
    with catalog.session() as session:
        save_analysis(session, get_title(session, "Sintel"), second)

    with catalog.session() as session:
        assert load_analysis(session, first.source_sha256, first.analyzer_version, params_hash(first.params)) == second
        assert load_analysis(session, first.source_sha256, first.analyzer_version, params_hash(other_params.params)) == other_params
        assert load_analysis(session, first.source_sha256, "0.0.1", params_hash(first.params)) is None
        assert session.scalar(sa.select(sa.func.count()).select_from(models.Analysis)) == 2
        # the replaced analysis's children went with it
        assert session.scalar(sa.select(sa.func.count()).select_from(models.Shot)) == 1 + 3
        assert session.scalar(sa.select(sa.func.count()).select_from(models.Keyframe)) == 1 + 3


def test_params_hash_ignores_key_order() -> None:
    assert params_hash({"a": 1, "b": [1, 2]}) == params_hash({"b": [1, 2], "a": 1})
    assert params_hash({"a": 1}) != params_hash({"a": 2})
    with pytest.raises(InvalidInput, match="cannot hash"):
        params_hash({"path": Path("/tmp")})


# -- variants ---------------------------------------------------------------------------------


def test_variant_versions_count_per_slot(catalog: Catalog) -> None:
    with catalog.session() as session:
        title = _title(session)
        image = _asset(session, sha_char="c", kind="image", mime="image/jpeg", ext=".jpg")
        recipe = {"generator": "thumbnails", "seed": 7}
        v1 = add_variant(session, title=title, asset=image, kind="thumbnail", segment="action", format="16x9", recipe=recipe)
        v2 = add_variant(session, title=title, asset=image, kind="thumbnail", segment="action", format="16x9", recipe=recipe)
        other = add_variant(session, title=title, asset=image, kind="thumbnail", segment="romance", format="16x9", recipe=recipe)

        assert (v1.version, v2.version, other.version) == (1, 2, 1)
        assert v1.slot_key == v2.slot_key == slot_key(title.id, "thumbnail", "action", None, "16x9")
        assert v1.slot_key == f"{title.id}/thumbnail/action/-/16x9"
        assert v1.review_status == "pending"
        assert next_variant_version(session, v1.slot_key) == 3
        slot, title_id, asset_id = v1.slot_key, title.id, image.id

    with pytest.raises(IntegrityError):
        with catalog.session() as session:
            session.add(
                Variant(title_id=title_id, asset_id=asset_id, kind="thumbnail", slot_key=slot, version=2, recipe={})
            )


def test_slot_parts_may_not_hold_a_slash() -> None:
    with pytest.raises(InvalidInput, match="slot"):
        slot_key(1, "thumbnail", "action/romance", None, "16x9")


# -- append-only events -----------------------------------------------------------------------


@pytest.fixture
def events(catalog: Catalog) -> tuple[int, int]:
    with catalog.session() as session:
        title = _title(session)
        audit = record_audit(session, "ana@example.com", "marketing", "approve", title=title, comment="great", details={"v": 1})
        review = ReviewEvent(actor="ana@example.com", role="marketing", action="approve", title_id=title.id)
        session.add(review)
        session.flush()
        return audit.id, review.id


@pytest.mark.parametrize("model", [AuditEvent, ReviewEvent], ids=["audit", "review"])
def test_events_refuse_update(catalog: Catalog, events: tuple[int, int], model: type) -> None:
    event_id = events[0] if model is AuditEvent else events[1]
    with pytest.raises(AppendOnlyError, match="append-only"):
        with catalog.session() as session:
            session.get(model, event_id).comment = "rewritten history"
    with pytest.raises(AppendOnlyError, match="append-only"):
        with catalog.session() as session:
            session.execute(sa.update(model).where(model.id == event_id).values(comment="bulk rewrite"))
    with catalog.session() as session:
        assert session.get(model, event_id).comment != "rewritten history"


@pytest.mark.parametrize("model", [AuditEvent, ReviewEvent], ids=["audit", "review"])
def test_events_refuse_delete(catalog: Catalog, events: tuple[int, int], model: type) -> None:
    event_id = events[0] if model is AuditEvent else events[1]
    with pytest.raises(AppendOnlyError, match="append-only"):
        with catalog.session() as session:
            session.delete(session.get(model, event_id))
    with pytest.raises(AppendOnlyError, match="append-only"):
        with catalog.session() as session:
            session.execute(sa.delete(model))
    with catalog.session() as session:
        assert session.get(model, event_id) is not None


def test_audit_event_fields(catalog: Catalog, events: tuple[int, int]) -> None:
    with catalog.session() as session:
        audit = session.get(AuditEvent, events[0])
        assert (audit.actor, audit.role, audit.action, audit.comment, audit.details) == (
            "ana@example.com", "marketing", "approve", "great", {"v": 1}
        )
        assert audit.at.tzinfo is UTC and audit.title_id is not None and audit.variant_id is None
        session.add(AuditEvent(actor="x", role="system", action="export"))  # adding is always fine
