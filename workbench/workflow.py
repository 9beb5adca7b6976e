"""The workbench's operations, one function each: the CLI, the workers and the review UI are
thin callers of these. Each opens the catalog and store from the settings, checks its inputs
first, and returns a small typed result."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa

from generators.base import GeneratedFile, get_generator
from generators.diffusion.backend import StepCallback, get_backend
from generators.thumbnails.generator import ThumbnailParams
from provenance import Ingredient, ManifestSpec, VerifyReport, load_identity, sign_file, verify_with_settings
from workbench.analysis.pipeline import AnalysisParams, Progress, analyze
from workbench.analysis.types import ANALYZER_VERSION, Analysis
from workbench.catalog import open_catalog, repo
from workbench.errors import InvalidInput
from workbench.media.probe import MediaInfo, check_source_file, probe
from workbench.names import check_title_name, title_folder
from workbench import scratch
from workbench.rights import get_rights, require_model_treatments
from workbench.settings import Settings, get_settings
from workbench.store import AssetStore, sha256_file


@dataclass(frozen=True)
class IngestResult:
    title_id: int
    title_name: str
    sha256: str
    info: MediaInfo
    stored_path: Path
    created: bool  # False: the same file was already ingested under this name


@dataclass(frozen=True)
class AnalyzeResult:
    title_id: int
    title_name: str
    analysis: Analysis
    cached: bool
    seconds: float


@dataclass(frozen=True)
class VariantResult:
    variant_id: int
    version: int
    segment: str | None
    format: str | None
    rank: int
    path: Path  # the signed file in the asset store
    export_path: Path  # a friendly-named link under WORKBENCH_HOME/out/
    sha256: str
    score: float
    render_ms: float
    sign_ms: float
    reused: bool  # the same recipe was generated before: no new version


@dataclass
class ThumbnailsResult:
    title_id: int
    title_name: str
    analysis_cached: bool
    variants: list[VariantResult] = field(default_factory=list)
    seconds: float = 0.0


def _store(settings: Settings) -> AssetStore:
    return AssetStore(settings.store_dir)


# -- ingest -------------------------------------------------------------------------------------


def ingest(path: Path, title: str | None = None, *, settings: Settings | None = None) -> IngestResult:
    """Store a source file and catalogue it as a title. What is probed is what is stored: the
    bytes are copied into a private temp in the store (hashed while copying), the copy is
    probed, and only then does it get its final name. A refused file leaves nothing behind."""
    settings = settings or get_settings()
    path = Path(path)
    store = _store(settings)
    catalog = open_catalog(settings)
    # 1. check the name, and the file as far as it can be checked without reading it
    name = check_title_name(title if title is not None else path.stem)
    check_source_file(path, settings)
    # 2. a title of this name already: the same bytes are "already ingested", others are refused,
    #    before anything is copied
    with catalog.session() as session:
        existing = repo.find_title(session, name)
        existing_sha = existing.source_asset.sha256 if existing is not None else None
    if existing_sha is not None:
        return _ingest_existing(name, sha256_file(path), catalog, settings, store)
    # 3. copy, probe the copy, store it
    with store.staged(path) as staged:
        info = probe(staged.path, settings, name=path.name, ext=path.suffix)
        stored = staged.commit()
    # 4. catalog rows (a concurrent ingest of the same name may have won meanwhile)
    try:
        with catalog.session() as session:
            asset = repo.add_asset_if_absent(
                session, sha256=stored.sha256, kind=info.kind, mime=info.mime, ext=info.ext, size_bytes=info.size_bytes,
                width=info.width, height=info.height, duration_s=info.duration, fps=info.fps, frame_count=info.frame_count,
                video_codec=info.video_codec, audio_codec=info.audio_codec, has_audio=info.has_audio, original_name=path.name,
            )
            row = repo.create_title(session, name, asset)
            repo.record_audit(session, _actor(), "system", "ingest", title=row, details={"sha256": stored.sha256, "file": asset.original_name})
            return IngestResult(row.id, row.name, stored.sha256, info, stored.path, created=True)
    except (InvalidInput, sa.exc.IntegrityError):
        _unstore_if_unreferenced(stored, catalog, store)
        return _ingest_existing(name, stored.sha256, catalog, settings, store)


def _ingest_existing(name: str, sha256: str, catalog, settings: Settings, store: AssetStore) -> IngestResult:
    with catalog.session() as session:
        existing = repo.find_title(session, name)
        if existing is None:  # it was there a moment ago: let the caller see a clear refusal
            raise InvalidInput(f"title {name!r} changed while ingesting; try again")
        if existing.source_asset.sha256 != sha256:
            raise InvalidInput(f"title {name!r} already exists with another source file; choose another --title")
        asset = existing.source_asset
        info = _info_from_asset(asset)
        return IngestResult(existing.id, existing.name, sha256, info, store.path_for(sha256, asset.ext), created=False)


def _unstore_if_unreferenced(stored, catalog, store: AssetStore) -> None:
    """Take back a file this call stored when no catalog row refers to it (a refused ingest, a
    variant another writer recorded first): the store keeps no copy nothing knows about."""
    if not stored.created:
        return
    with catalog.session() as session:
        if repo.get_asset_by_sha256(session, stored.sha256) is None:
            store.remove(stored)


def _actor() -> str:
    return os.environ.get("WORKBENCH_USER") or os.environ.get("USER") or "cli"


def _info_from_asset(asset) -> MediaInfo:
    return MediaInfo(
        kind=asset.kind, mime=asset.mime, ext=asset.ext, size_bytes=asset.size_bytes, width=asset.width or 0,
        height=asset.height or 0, duration=asset.duration_s, fps=asset.fps, frame_count=asset.frame_count,
        video_codec=asset.video_codec, audio_codec=asset.audio_codec, has_audio=asset.has_audio,
    )


# -- analyze ------------------------------------------------------------------------------------


def analyze_title(ref: str | int, *, force: bool = False, progress: Progress | None = None,
                  settings: Settings | None = None) -> AnalyzeResult:
    settings = settings or get_settings()
    started = time.perf_counter()
    params = AnalysisParams.from_settings(settings)
    params_hash = repo.params_hash({**params.__dict__, "cache_key": params.cache_key()})
    catalog = open_catalog(settings)
    with catalog.session() as session:
        title = repo.get_title(session, ref)
        asset = title.source_asset
        title_id, title_name, sha, info = title.id, title.name, asset.sha256, _info_from_asset(asset)

    def cached() -> AnalyzeResult | None:
        if force:
            return None
        with catalog.session() as session:
            found = repo.load_analysis(session, sha, ANALYZER_VERSION, params_hash)
        return None if found is None else AnalyzeResult(title_id, title_name, found, True, time.perf_counter() - started)

    if (hit := cached()) is not None:
        return hit
    source = _store(settings).resolve(sha, info.ext)
    # One analysis of a source at a time: a second job of the same title waits, then finds it cached.
    with _analysis_lock(settings, sha, params.cache_key()):
        if (hit := cached()) is not None:
            return hit
        analysis = analyze(source, info, sha, params, progress)
        with catalog.session() as session:
            repo.save_analysis(session, repo.get_title(session, title_id), analysis)
    return AnalyzeResult(title_id, title_name, analysis, False, time.perf_counter() - started)


@contextlib.contextmanager
def _analysis_lock(settings: Settings, sha: str, key: str):
    locks = settings.home / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"analysis-{sha[:16]}-{key}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- thumbnails ---------------------------------------------------------------------------------


def resolve_engine(params: ThumbnailParams, settings: Settings) -> str | None:
    """Which engine a treatment runs on here: "model", "classical", or None (no treatment)."""
    treatment = params.treatment
    if treatment is None:
        return None
    if treatment.engine == "classical":
        return "classical"
    if treatment.engine == "model" and not settings.diffusion_model:
        raise InvalidInput("engine=model asked for, but no diffusion model is configured (set WORKBENCH_DIFFUSION_MODEL)")
    return "model" if settings.diffusion_model else "classical"


def generate_thumbnails(ref: str | int, params: ThumbnailParams | None = None, *, progress: Progress | None = None,
                        on_step: StepCallback | None = None, settings: Settings | None = None) -> ThumbnailsResult:
    """Thumbnails for a title. With a treatment whose engine resolves to the model, the title's
    rights must clear AI treatments (else RightsDenied, after an audit event) and the process's
    diffusion backend runs it; ``on_step`` hears each denoising step and may raise to stop."""
    settings = settings or get_settings()
    started = time.perf_counter()
    generator = get_generator("thumbnail")
    params = params or ThumbnailParams()
    if params.treatment is not None:
        params.treatment.check()  # before any analysis or model work
    engine = resolve_engine(params, settings)
    backend = None
    if engine is not None:
        if engine == "model":
            rights = require_model_treatments(ref, params.treatment.name, actor=_actor(), settings=settings)
            backend = get_backend(settings)
        else:
            rights = get_rights(ref, settings=settings)
        params = replace(params, rights=rights.to_dict())
    analyzed = analyze_title(ref, progress=progress, settings=settings)
    params = replace(params, title_name=params.title_name or analyzed.title_name)
    # 1. check inputs before rendering anything
    generator.check_inputs(analyzed.analysis, params)
    catalog = open_catalog(settings)
    with catalog.session() as session:
        ext = repo.get_title(session, analyzed.title_id).source_asset.ext
    store = _store(settings)
    source = store.resolve(analyzed.analysis.source_sha256, ext)
    out_dir = settings.output_dir / title_folder(analyzed.title_id, analyzed.title_name)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ThumbnailsResult(analyzed.title_id, analyzed.title_name, analyzed.cached)
    with render_folder(settings) as tmp:
        # 2. render
        t_render = time.perf_counter()
        files = generator.generate(analyzed.analysis, source, params, Path(tmp), backend=backend, on_step=on_step)
        render_ms = (time.perf_counter() - t_render) * 1000 / max(1, len(files))
        # 3. what this exact recipe already made is reused, not made again
        reused, fresh = _split_reused(files, analyzed, settings, store)
        # 4. sign the new files, then store and catalog them
        signed = sign_generated(fresh, analyzed.title_name, analyzed.analysis.source_sha256, settings)
        recorded = [_record(gf, path, sign_ms, analyzed, render_ms, settings, store) for gf, path, sign_ms in signed]
    # 5. friendly names under WORKBENCH_HOME/out/<title>/, in the generator's order
    order = {id(gf): i for i, gf in enumerate(files)}
    pairs = sorted([*reused, *zip(fresh, recorded)], key=lambda p: order[id(p[0])])
    result.variants = [replace(v, export_path=_link(v.path, out_dir / gf.path.name)) for gf, v in pairs]
    result.seconds = time.perf_counter() - started
    return result


def sign_generated(files: list[GeneratedFile], title_name: str, source_sha256: str, settings: Settings) -> list[tuple[GeneratedFile, Path, float]]:
    """Sign each generated file beside itself. c2pa's native code releases the GIL, so the files
    are signed on a small thread pool. Returns (file, signed path, sign ms)."""
    identity = load_identity(settings)

    def sign_one(gf: GeneratedFile) -> tuple[GeneratedFile, Path, float]:
        spec = ManifestSpec(
            title=gf.path.name, mime=gf.mime, actions=gf.actions,
            parent=Ingredient.from_source_frame(gf.source_frame, title_name, source_sha256),
            recipe=gf.recipe.to_dict(),
        )
        signed = gf.path.with_name(f"signed-{gf.path.name}")
        res = sign_file(gf.path, signed, spec, identity, claim_generator=settings.signer_name, durable=False)
        return gf, signed, res.sign_ms

    if len(files) <= 1:
        return [sign_one(gf) for gf in files]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="sign") as pool:
        return list(pool.map(sign_one, files))


@contextlib.contextmanager
def render_folder(settings: Settings):
    """A private folder for one run's unsigned renders, removed on every way out; its name says
    which process owns it, so a killed run's folder is swept by the next command (workbench.scratch)."""
    parent = settings.home / "tmp"
    parent.mkdir(parents=True, exist_ok=True)
    path = parent / scratch.temp_name(scratch.RENDER_PREFIX)
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _recipe_key(gf: GeneratedFile) -> str:
    return repo.stable_hash(gf.recipe.to_dict())


def _score(gf: GeneratedFile) -> float:
    score = gf.recipe.details.get("score")
    return float(score.get("total", 0.0)) if isinstance(score, dict) else float(score or 0.0)


def _split_reused(files: list[GeneratedFile], analyzed: AnalyzeResult, settings: Settings,
                  store: AssetStore) -> tuple[list[tuple[GeneratedFile, VariantResult]], list[GeneratedFile]]:
    reused: list[tuple[GeneratedFile, VariantResult]] = []
    fresh: list[GeneratedFile] = []
    with open_catalog(settings).session() as session:
        for gf in files:
            same = repo.find_variant_by_recipe(session, _slot_of(gf, analyzed.title_id), _recipe_key(gf))
            if same is None or not store.exists(same.asset.sha256, same.asset.ext):
                fresh.append(gf)
                continue
            reused.append((gf, _reused_result(gf, same, store)))
    return reused, fresh


def _reused_result(gf: GeneratedFile, variant, store: AssetStore) -> VariantResult:
    path = store.resolve(variant.asset.sha256, variant.asset.ext)
    return VariantResult(variant.id, variant.version, gf.segment, gf.format, _rank(gf), path, path,
                         variant.asset.sha256, _score(gf), 0.0, 0.0, True)


def _rank(gf: GeneratedFile) -> int:
    return int(gf.recipe.details.get("rank", 1))


def _slot_of(gf: GeneratedFile, title_id: int) -> str:
    return repo.slot_key(title_id, gf.kind, gf.segment, gf.locale, _slot_format(gf, _rank(gf)))


RECORD_TRIES = 20  # concurrent writers of one slot: each lost race is one more try


def _record(gf: GeneratedFile, signed: Path, sign_ms: float, analyzed: AnalyzeResult, render_ms: float,
            settings: Settings, store: AssetStore) -> VariantResult:
    """Store the signed file and add its variant as the slot's next version. The database decides
    races: another writer of the same recipe (unique slot x recipe) means its row is the variant and
    this file is taken back; another writer of the slot's next version (unique slot x version)
    means this one tries the version after."""
    stored = store.put_file(signed, gf.path.suffix)
    catalog = open_catalog(settings)
    key = _recipe_key(gf)
    for attempt in range(RECORD_TRIES):
        try:
            with catalog.session() as session:
                same = repo.find_variant_by_recipe(session, _slot_of(gf, analyzed.title_id), key)
                if same is not None:
                    result = _reused_result(gf, same, store)
                    break
                title = repo.get_title(session, analyzed.title_id)
                asset = repo.add_asset_if_absent(
                    session, sha256=stored.sha256, kind="image", mime=gf.mime, ext=stored.ext, size_bytes=stored.size,
                    width=gf.width, height=gf.height, original_name=gf.path.name, c2pa_state="Valid",
                )
                variant = repo.add_variant(session, title=title, asset=asset, kind=gf.kind,
                                           recipe={**gf.recipe.to_dict(), "recipe_key": key}, recipe_key=key,
                                           segment=gf.segment, locale=gf.locale, format=_slot_format(gf, _rank(gf)),
                                           score=_score(gf))
                return VariantResult(variant.id, variant.version, gf.segment, gf.format, _rank(gf), stored.path,
                                     stored.path, stored.sha256, _score(gf), render_ms, sign_ms, False)
        except sa.exc.IntegrityError:
            if attempt == RECORD_TRIES - 1:
                raise
            time.sleep(0.005 * (attempt + 1))
    _unstore_if_unreferenced(stored, catalog, store)
    return result


def _slot_format(gf: GeneratedFile, rank: int) -> str:
    """Each pick of a placement is its own slot (16x9 pick 1, 2, 3), and regenerating it makes versions."""
    ext = gf.path.suffix.lstrip(".")
    return f"{gf.format}.{ext}.pick{rank}"


def _link(stored: Path, dest: Path) -> Path:
    """A friendly name for a stored file: a hard link (same bytes, same manifest), else a copy.
    Already linked: nothing to do (a rename onto the same file would leave the temp behind)."""
    with contextlib.suppress(OSError):
        if dest.exists() and os.path.samefile(stored, dest):
            return dest
    tmp = dest.with_name(scratch.temp_name(scratch.TEMP_PREFIX, dest.suffix))
    try:
        try:
            os.link(stored, tmp)
        except OSError:
            shutil.copyfile(stored, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def variants_by_id(ids: list[int], *, settings: Settings | None = None) -> list[VariantResult]:
    """Variants made elsewhere (by a worker), read back from the catalog."""
    settings = settings or get_settings()
    store = _store(settings)
    out = []
    with open_catalog(settings).session() as session:
        for variant in repo.get_variants(session, ids):
            params = (variant.recipe or {}).get("parameters", {})
            path = store.resolve(variant.asset.sha256, variant.asset.ext)
            friendly = settings.output_dir / title_folder(variant.title_id, variant.title.name) / (variant.asset.original_name or "")
            export = friendly if variant.asset.original_name and friendly.is_file() else path
            out.append(VariantResult(variant.id, variant.version, variant.segment, params.get("format"),
                                     int(params.get("rank", 1)), path, export, variant.asset.sha256,
                                     float(variant.score or 0.0), 0.0, 0.0, True))
    return out


# -- verify -------------------------------------------------------------------------------------


def verify(path: Path, *, settings: Settings | None = None) -> VerifyReport:
    settings = settings or get_settings()
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    if path.is_dir():
        raise InvalidInput(f"{path}: is a folder; give a file to verify")
    if not path.is_file():
        raise InvalidInput(f"{path}: not a regular file (a device, socket or pipe); give a file to verify")
    return verify_with_settings(path, settings)

