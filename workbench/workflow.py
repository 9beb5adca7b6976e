"""The workbench's operations, one function each: the CLI, the workers and the review UI are
thin callers of these. Each opens the catalog and store from the settings, checks its inputs
first, and returns a small typed result."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from generators.base import GeneratedFile, get_generator
from generators.thumbnails.generator import ThumbnailParams
from provenance import Ingredient, ManifestSpec, VerifyReport, sign_with_settings, verify_with_settings
from workbench.analysis.pipeline import AnalysisParams, Progress, analyze
from workbench.analysis.types import Analysis
from workbench.catalog import open_catalog, repo
from workbench.errors import InvalidInput
from workbench.media.probe import MediaInfo, probe
from workbench.names import check_title_name, safe_filename
from workbench.settings import Settings, get_settings
from workbench.store import AssetStore


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
    settings = settings or get_settings()
    path = Path(path)
    # 1. check the name and the file before anything is stored
    name = check_title_name(title if title is not None else path.stem)
    info = probe(path, settings)
    # 2. store the bytes (content-addressed, atomic)
    stored = _store(settings).put_file(path, info.ext)
    # 3. catalog rows
    catalog = open_catalog(settings)
    with catalog.session() as session:
        existing = repo.find_title(session, name)
        if existing is not None:
            if existing.source_asset.sha256 != stored.sha256:
                raise InvalidInput(f"title {name!r} already exists with another source file; choose another --title")
            return IngestResult(existing.id, existing.name, stored.sha256, info, stored.path, created=False)
        asset = repo.add_asset_if_absent(
            session, sha256=stored.sha256, kind=info.kind, mime=info.mime, ext=info.ext, size_bytes=info.size_bytes,
            width=info.width, height=info.height, duration_s=info.duration, fps=info.fps, frame_count=info.frame_count,
            video_codec=info.video_codec, audio_codec=info.audio_codec, has_audio=info.has_audio, original_name=path.name,
        )
        row = repo.create_title(session, name, asset)
        repo.record_audit(session, _actor(), "system", "ingest", title=row, details={"sha256": stored.sha256, "file": asset.original_name})
        return IngestResult(row.id, row.name, stored.sha256, info, stored.path, created=True)


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
    params_dict = {**params.__dict__, "cache_key": params.cache_key()}
    catalog = open_catalog(settings)
    with catalog.session() as session:
        title = repo.get_title(session, ref)
        asset = title.source_asset
        title_id, title_name, sha, info = title.id, title.name, asset.sha256, _info_from_asset(asset)
        if not force:
            cached = repo.load_analysis(session, sha, _analyzer_version(), repo.params_hash(params_dict))
            if cached is not None:
                return AnalyzeResult(title_id, title_name, cached, True, time.perf_counter() - started)
    source = _store(settings).resolve(sha, info.ext)
    analysis = analyze(source, info, sha, params, progress)
    with catalog.session() as session:
        title = repo.get_title(session, title_id)
        repo.save_analysis(session, title, analysis)
    return AnalyzeResult(title_id, title_name, analysis, False, time.perf_counter() - started)


def _analyzer_version() -> str:
    from workbench.analysis.types import ANALYZER_VERSION

    return ANALYZER_VERSION


# -- thumbnails ---------------------------------------------------------------------------------


def generate_thumbnails(ref: str | int, params: ThumbnailParams | None = None, *, progress: Progress | None = None,
                        settings: Settings | None = None) -> ThumbnailsResult:
    settings = settings or get_settings()
    started = time.perf_counter()
    generator = get_generator("thumbnail")
    analyzed = analyze_title(ref, progress=progress, settings=settings)
    params = params or ThumbnailParams()
    params = ThumbnailParams(**{**params.__dict__, "title_name": params.title_name or analyzed.title_name})
    # 1. check inputs before rendering anything
    generator.check_inputs(analyzed.analysis, params)
    catalog = open_catalog(settings)
    with catalog.session() as session:
        title = repo.get_title(session, analyzed.title_id)
        ext = title.source_asset.ext
    store = _store(settings)
    source = store.resolve(analyzed.analysis.source_sha256, ext)
    out_dir = settings.output_dir / safe_filename(analyzed.title_name)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ThumbnailsResult(analyzed.title_id, analyzed.title_name, analyzed.cached)
    with tempfile.TemporaryDirectory(prefix="render-", dir=_scratch(settings)) as tmp:
        # 2. render
        t_render = time.perf_counter()
        files = generator.generate(analyzed.analysis, source, params, Path(tmp))
        render_ms = (time.perf_counter() - t_render) * 1000 / max(1, len(files))
        # 3. sign, store, catalog
        for gf in files:
            result.variants.append(_sign_and_record(gf, analyzed, render_ms, out_dir, settings, store))
    result.seconds = time.perf_counter() - started
    return result


def _scratch(settings: Settings) -> Path:
    path = settings.home / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sign_and_record(gf: GeneratedFile, analyzed: AnalyzeResult, render_ms: float, out_dir: Path,
                     settings: Settings, store: AssetStore) -> VariantResult:
    recipe = gf.recipe.to_dict()
    rank = int(gf.recipe.details.get("rank", 1))
    score = float(gf.recipe.details.get("score", {}).get("total", 0.0)) if isinstance(gf.recipe.details.get("score"), dict) else float(gf.recipe.details.get("score", 0.0) or 0.0)
    catalog = open_catalog(settings)
    recipe_key = repo.stable_hash(recipe)
    with catalog.session() as session:
        title = repo.get_title(session, analyzed.title_id)
        same = repo.find_variant_by_recipe(session, title, gf.kind, gf.segment, gf.locale, _slot_format(gf, rank), recipe_key)
        if same is not None:
            path = store.resolve(same.asset.sha256, same.asset.ext)
            return VariantResult(same.id, same.version, gf.segment, gf.format, rank, path,
                                 _link(path, out_dir / gf.path.name), same.asset.sha256, score, render_ms, 0.0, True)
    signed = gf.path.with_name(f"signed-{gf.path.name}")
    spec = ManifestSpec(
        title=gf.path.name, mime=gf.mime, actions=gf.actions,
        parent=Ingredient.from_source_frame(gf.source_frame, analyzed.title_name, analyzed.analysis.source_sha256),
        recipe=recipe,
    )
    sign = sign_with_settings(gf.path, signed, spec, settings)
    stored = store.put_file(signed, gf.path.suffix)
    with catalog.session() as session:
        title = repo.get_title(session, analyzed.title_id)
        asset = repo.add_asset_if_absent(
            session, sha256=stored.sha256, kind="image", mime=gf.mime, ext=stored.ext, size_bytes=stored.size,
            width=gf.width, height=gf.height, original_name=gf.path.name, c2pa_state="Valid",
        )
        variant = repo.add_variant(session, title=title, asset=asset, kind=gf.kind, recipe={**recipe, "recipe_key": recipe_key},
                                   segment=gf.segment, locale=gf.locale, format=_slot_format(gf, rank), score=score)
        variant_id, version = variant.id, variant.version
    return VariantResult(variant_id, version, gf.segment, gf.format, rank, stored.path,
                         _link(stored.path, out_dir / gf.path.name), stored.sha256, score, render_ms, sign.sign_ms, False)


def _slot_format(gf: GeneratedFile, rank: int) -> str:
    """Each pick of a placement is its own slot (16x9 pick 1, 2, 3), and regenerating it makes versions."""
    ext = gf.path.suffix.lstrip(".")
    return f"{gf.format}.{ext}.pick{rank}"


def _link(stored: Path, dest: Path) -> Path:
    """A friendly name for a stored file: a hard link (same bytes, same manifest), else a copy."""
    tmp = dest.with_name(f".tmp-{dest.name}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(stored, tmp)
    except OSError:
        shutil.copyfile(stored, tmp)
    os.replace(tmp, dest)
    return dest


# -- verify -------------------------------------------------------------------------------------


def verify(path: Path, *, settings: Settings | None = None) -> VerifyReport:
    settings = settings or get_settings()
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    return verify_with_settings(path, settings)

