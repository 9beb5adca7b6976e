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
from typing import Any

import sqlalchemy as sa

from generators.base import GenerationContext, StepCallback
from generators.diffusion.backend import get_backend
from provenance import Ingredient, ManifestSpec, VerifyReport, load_identity, sign_file, verify_with_settings
from workbench.analysis.pipeline import AnalysisParams, Progress, analyze
from workbench.analysis.types import ANALYZER_VERSION, Analysis
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import VariantFile
from workbench.creative import Output, Slot
from workbench.errors import InvalidInput
from workbench.media.probe import MediaInfo, check_source_file, probe
from workbench.names import check_title_name, title_folder
from workbench import notifications, scratch
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
    format: str | None  # the placement, e.g. "16x9"
    rank: int  # the pick within its cell (1 for kinds with one output per cell)
    path: Path  # the signed file in the asset store
    export_path: Path  # a friendly-named link under WORKBENCH_HOME/out/
    sha256: str
    score: float
    render_ms: float
    sign_ms: float
    reused: bool  # the same recipe was generated before: no new version
    slot: str = ""  # the slot's full format key, e.g. "16x9.jpg.pick1"
    files: dict[str, Path] = field(default_factory=dict)  # sidecars by role, in the asset store
    qa_flags: tuple[str, ...] = ()
    locale: str | None = None
    duration: float | None = None  # seconds, for time-based media

    @classmethod
    def of(cls, variant_id: int, version: int, out: Output, path: Path, sha256: str, render_ms: float, sign_ms: float,
           reused: bool, files: dict[str, Path]) -> VariantResult:
        return cls(variant_id, version, out.slot.segment, out.slot.format, out.slot.pick or 1, path, path, sha256,
                   float(out.score or 0.0), render_ms, sign_ms, reused, out.slot.format_key, files, tuple(out.qa_flags),
                   out.slot.locale, out.primary.duration)


@dataclass
class GenerateResult:
    kind: str
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


# -- generate -----------------------------------------------------------------------------------


def generate(kind_name: str, ref: str | int, params: Any = None, *, job_id: int | None = None,
             progress: Progress | None = None, on_step: StepCallback | None = None,
             settings: Settings | None = None) -> GenerateResult:
    """Make a kind's variants of a title, one path for every kind:

    check params → rights and model if the kind needs one → analyse → check inputs → generate →
    reuse what the same recipe made before → sign → store and record (with ``job_id``).

    ``params`` is the kind's typed parameters, their JSON (a job's), or None for the defaults.
    With a model to run, the title's rights must clear it (else RightsDenied, after an audit
    event) and this process's diffusion backend runs it; ``on_step`` hears each denoising step
    and may raise to stop."""
    from generators import get_kind

    settings = settings or get_settings()
    started = time.perf_counter()
    kind = get_kind(kind_name)
    # 1. parameters: pure checks first, in milliseconds, before anything is read or loaded
    params = kind.parse_params(params if params is not None else {})
    kind.check_params(params)
    use = kind.needs_model(params, settings)
    # 2. rights (and the model, when one runs)
    backend = None
    if use:
        rights = require_model_treatments(ref, use, actor=_actor(), settings=settings)
        backend = get_backend(settings)
    else:
        rights = get_rights(ref, settings=settings)
    inputs = kind.gather_inputs(params, CatalogReader(settings))
    # 3. the title's analysis (cached by its source's hash)
    analyzed = analyze_title(ref, progress=progress, settings=settings)
    catalog = open_catalog(settings)
    with catalog.session() as session:
        asset = repo.get_title(session, analyzed.title_id).source_asset
        ext, info = asset.ext, _info_from_asset(asset)
    store = _store(settings)
    source = store.resolve(analyzed.analysis.source_sha256, ext)
    out_dir = settings.output_dir / title_folder(analyzed.title_id, analyzed.title_name)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = GenerateResult(kind.kind, analyzed.title_id, analyzed.title_name, analyzed.cached)
    with render_folder(settings) as tmp:
        context = GenerationContext(
            title_id=analyzed.title_id, title_name=analyzed.title_name, analysis=analyzed.analysis, source=source,
            source_info=info, out_dir=tmp, settings=settings, rights=rights.to_dict(), backend=backend,
            on_step=on_step, progress=progress, inputs=inputs,
        )
        # 4. check what needs the analysis, before rendering anything
        kind.check_inputs(context, params)
        # 5. render
        t_render = time.perf_counter()
        outputs = kind.generate(context, params)
        render_ms = (time.perf_counter() - t_render) * 1000 / max(1, len(outputs))
        # 6. what this exact recipe already made is reused, not made again
        reused, fresh = _split_reused(kind.kind, outputs, analyzed.title_id, settings, store)
        # 7. sign the new files, then store and catalog them
        signed = sign_outputs(fresh, settings)
        recorded = [_record(kind.kind, out, path, sign_ms, analyzed.title_id, render_ms, job_id, settings, store)
                    for out, path, sign_ms in signed]
    # whoever commented on a slot that just got a new version hears of it now (never raises)
    notifications.versions_made([v.variant_id for v in recorded if not v.reused], settings=settings)
    # 8. friendly names under WORKBENCH_HOME/out/<title>-<id>/, in the kind's order
    order = {id(out): i for i, out in enumerate(outputs)}
    pairs = sorted([*reused, *zip(fresh, recorded)], key=lambda p: order[id(p[0])])
    result.variants = [replace(v, export_path=_link(v.path, out_dir / out.primary.path.name)) for out, v in pairs]
    result.seconds = time.perf_counter() - started
    return result


class CatalogReader:
    """The read-only view of the catalog a kind gets in :meth:`CreativeKind.gather_inputs`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def title(self, ref: str | int) -> tuple[int, str]:
        with open_catalog(self.settings).session() as session:
            title = repo.get_title(session, ref)
            return title.id, title.name

    def stored_path(self, sha256: str, ext: str) -> Path:
        return _store(self.settings).resolve(sha256, ext)


def _manifest_recipe(out: Output) -> dict[str, Any]:
    """The recipe assertion of an output's manifest: its recipe, and the hash of every sidecar,
    so the signed primary file vouches for the files that travel with it."""
    recipe = out.recipe.to_dict()
    if out.sidecars:
        recipe = {**recipe, "files": {f.role: {"name": f.path.name, "mime": f.mime, "sha256": sha256_file(f.path)}
                                      for f in out.sidecars}}
    return recipe


def sign_outputs(outputs: list[Output], settings: Settings) -> list[tuple[Output, Path, float]]:
    """Sign each output's primary file beside itself: ``c2pa.opened`` on its parent ingredient,
    its other ingredients placed, its actions, its recipe; then its renditions, each with the
    signed primary as parent. c2pa's native code releases the GIL, so files are signed on a small
    thread pool. Returns (output, signed path, sign ms); a rendition is signed to
    ``signed-<its name>`` beside itself."""
    identity = load_identity(settings)

    def sign_one(out: Output) -> tuple[Output, Path, float]:
        spec = ManifestSpec(title=out.primary.path.name, mime=out.primary.mime, actions=out.actions,
                            parent=out.parent, components=out.components, recipe=_manifest_recipe(out))
        signed = out.primary.path.with_name(f"signed-{out.primary.path.name}")
        res = sign_file(out.primary.path, signed, spec, identity, claim_generator=settings.signer_name, durable=False)
        sign_ms = res.sign_ms
        if out.renditions:
            parent = Ingredient(title=out.primary.path.name, mime=out.primary.mime, data=signed.read_bytes())
            for r in out.renditions:
                rspec = ManifestSpec(title=r.file.path.name, mime=r.file.mime, actions=r.actions, parent=parent,
                                     recipe={"rendition_of": out.primary.path.name, "role": r.file.role})
                rres = sign_file(r.file.path, r.file.path.with_name(f"signed-{r.file.path.name}"), rspec, identity,
                                 claim_generator=settings.signer_name, durable=False)
                sign_ms += rres.sign_ms
        return out, signed, sign_ms

    if len(outputs) <= 1:
        return [sign_one(out) for out in outputs]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="sign") as pool:
        return list(pool.map(sign_one, outputs))


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


def _recipe_key(out: Output) -> str:
    return repo.stable_hash(out.recipe.to_dict())


def _split_reused(kind: str, outputs: list[Output], title_id: int, settings: Settings,
                  store: AssetStore) -> tuple[list[tuple[Output, VariantResult]], list[Output]]:
    reused: list[tuple[Output, VariantResult]] = []
    fresh: list[Output] = []
    with open_catalog(settings).session() as session:
        for out in outputs:
            same = repo.find_variant_by_recipe(session, out.slot_key(title_id, kind), _recipe_key(out))
            if same is None or not store.exists(same.asset.sha256, same.asset.ext):
                fresh.append(out)
                continue
            reused.append((out, _reused_result(out, same, store)))
    return reused, fresh


def _reused_result(out: Output, variant, store: AssetStore) -> VariantResult:
    path = store.resolve(variant.asset.sha256, variant.asset.ext)
    files = {f.role: store.path_for(f.asset.sha256, f.asset.ext) for f in variant.files}
    return VariantResult.of(variant.id, variant.version, out, path, variant.asset.sha256, 0.0, 0.0, True, files)


RECORD_TRIES = 20  # concurrent writers of one slot: each lost race is one more try


def _record(kind: str, out: Output, signed: Path, sign_ms: float, title_id: int, render_ms: float, job_id: int | None,
            settings: Settings, store: AssetStore) -> VariantResult:
    """Store the signed file and its sidecars and add the variant as the slot's next version. The
    database decides races: another writer of the same recipe (unique slot x recipe) means its row
    is the variant and these files are taken back; another writer of the slot's next version
    (unique slot x version) means this one tries the version after."""
    stored = store.put_file(signed, out.primary.path.suffix)
    sidecars = [(f, store.put_file(f.path, f.path.suffix)) for f in out.sidecars]
    sidecars += [(r.file, store.put_file(r.file.path.with_name(f"signed-{r.file.path.name}"), r.file.path.suffix))
                 for r in out.renditions]
    catalog = open_catalog(settings)
    key = _recipe_key(out)
    slot = out.slot_key(title_id, kind)
    primary_kind = out.primary.mime.split("/", 1)[0]
    for attempt in range(RECORD_TRIES):
        try:
            with catalog.session() as session:
                same = repo.find_variant_by_recipe(session, slot, key)
                if same is not None:
                    result = _reused_result(out, same, store)
                    break
                title = repo.get_title(session, title_id)
                asset = repo.add_asset_if_absent(
                    session, sha256=stored.sha256, kind=primary_kind if primary_kind in ("image", "video", "audio") else "document",
                    mime=out.primary.mime, ext=stored.ext, size_bytes=stored.size, width=out.primary.width,
                    height=out.primary.height, duration_s=out.primary.duration, original_name=out.primary.path.name,
                    c2pa_state="Valid",
                )
                variant = repo.add_variant(session, title=title, asset=asset, kind=kind,
                                           recipe={**_manifest_recipe(out), "recipe_key": key}, recipe_key=key,
                                           segment=out.slot.segment, locale=out.slot.locale, format=out.slot.format_key,
                                           score=out.score, job_id=job_id)
                if out.qa_flags:
                    variant.qa_flags = list(out.qa_flags)
                files = {}
                for f, kept in sidecars:
                    file_kind = f.mime.split("/", 1)[0]
                    side = repo.add_asset_if_absent(
                        session, sha256=kept.sha256, kind=file_kind if file_kind in ("image", "video", "audio") else "document",
                        mime=f.mime, ext=kept.ext, size_bytes=kept.size, width=f.width, height=f.height,
                        duration_s=f.duration, original_name=f.path.name,
                        c2pa_state="Valid" if any(r.file is f for r in out.renditions) else None)
                    session.add(VariantFile(variant_id=variant.id, role=f.role, name=f.path.name, asset_id=side.id))
                    files[f.role] = kept.path
                session.flush()
                return VariantResult.of(variant.id, variant.version, out, stored.path, stored.sha256, render_ms, sign_ms,
                                        False, files)
        except sa.exc.IntegrityError:
            if attempt == RECORD_TRIES - 1:
                raise
            time.sleep(0.005 * (attempt + 1))
    for kept in [stored, *(k for _, k in sidecars)]:
        _unstore_if_unreferenced(kept, catalog, store)
    return result


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
            path = store.resolve(variant.asset.sha256, variant.asset.ext)
            friendly = settings.output_dir / title_folder(variant.title_id, variant.title.name) / (variant.asset.original_name or "")
            export = friendly if variant.asset.original_name and friendly.is_file() else path
            slot = Slot.parse(variant.format or "", variant.segment, variant.locale)
            files = {f.role: store.path_for(f.asset.sha256, f.asset.ext) for f in variant.files}
            out.append(VariantResult(variant.id, variant.version, variant.segment, slot.format, slot.pick or 1, path,
                                     export, variant.asset.sha256, float(variant.score or 0.0), 0.0, 0.0, True,
                                     slot.format_key, files, tuple(variant.qa_flags or ()), variant.locale,
                                     variant.asset.duration_s))
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

