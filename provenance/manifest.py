"""Build and sign a C2PA manifest for one output file.

The rest of the workbench speaks in project types (:mod:`workbench.creative`: EditAction,
Ingredient, Recipe); this module is the only place that turns them into a c2pa-python manifest
definition.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import c2pa

import workbench
from workbench.creative import EditAction, Ingredient
from provenance.certs import SigningIdentity, load_identity
from workbench.errors import ProvenanceError
from workbench.store import TEMP_PREFIX

if TYPE_CHECKING:
    from workbench.settings import Settings

log = logging.getLogger(__name__)

Mime = Literal["image/jpeg", "image/webp", "image/png", "video/mp4"]

RECIPE_LABEL = "com.creativeworkbench.recipe"
TRAINING_MINING_LABEL = "cawg.training-mining"
TRAINING_MINING_USES = ("cawg.ai_generative_training", "cawg.ai_training", "cawg.ai_inference", "cawg.data_mining")
DIGITAL_SOURCE_TYPE_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = DIGITAL_SOURCE_TYPE_PREFIX + "trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = DIGITAL_SOURCE_TYPE_PREFIX + "compositeWithTrainedAlgorithmicMedia"
CLAIM_GENERATOR = "Creative Workbench"

_MIME_NAMES = {"image/jpeg": "JPEG", "image/webp": "WebP", "image/png": "PNG", "video/mp4": "MP4",
               "video/quicktime": "QuickTime"}  # QuickTime: a spot's ProRes mezzanine
# what an ingredient may be besides those (a trailer's music bed)
_INGREDIENT_MIMES = {**_MIME_NAMES, "audio/mpeg": "MP3", "audio/wav": "WAV"}

# The embedded thumbnail is most of the signing time (a 1080p JPEG on 2 cores: ~120 ms with it,
# ~4-5 ms without) and the review UI renders its own previews. Off also skips ingredient thumbnails.
_SIGN_SETTINGS: dict[str, Any] = {"builder": {"thumbnail": {"enabled": False}}}


@dataclass(frozen=True)
class ManifestSpec:
    """What the manifest of one output says.

    With a ``parent``, the first action is ``c2pa.opened`` on it and ``actions`` follow. Without
    one, ``actions`` must start with ``c2pa.created`` carrying the digital source type. An action
    claims AI involvement only through its own ``digital_source_type``.
    """

    title: str  # the output file name
    mime: Mime
    actions: tuple[EditAction, ...]
    parent: Ingredient | None
    recipe: dict[str, Any]
    components: tuple[Ingredient, ...] = ()  # composited or input files besides the parent


@dataclass(frozen=True)
class SignResult:
    dst: Path
    manifest_label: str
    size_bytes: int  # the signed file
    manifest_bytes: int  # the embedded manifest store
    sign_ms: float


def sign_file(
    src: Path,
    dst: Path,
    spec: ManifestSpec,
    identity: SigningIdentity,
    *,
    claim_generator: str = CLAIM_GENERATOR,
    durable: bool = True,
) -> SignResult:
    """Sign ``src`` with a manifest built from ``spec`` and write the result to ``dst`` atomically.

    ``durable=False`` skips the fsync, for a caller that copies the result into the asset store
    (which syncs) straight away."""
    started = time.perf_counter()
    src, dst = Path(src), Path(dst)

    # 1. check inputs
    check_inputs(src, dst, spec)

    # 2. build the manifest definition
    label = f"urn:c2pa:{uuid.uuid4()}"
    definition = build_definition(spec, label=label, claim_generator=claim_generator)

    # 3. sign into a temp file beside dst, then rename: no partial file is ever visible
    fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f"{TEMP_PREFIX}sign-", suffix=dst.suffix)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as out, src.open("rb") as source:
            manifest_size = _sign_stream(definition, spec, identity, source, out)
            out.flush()
            if durable:
                os.fsync(out.fileno())
            size = os.fstat(out.fileno()).st_size
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, c2pa.C2paError):
            raise ProvenanceError(f"could not sign {src.name} as {_MIME_NAMES[spec.mime]}: {_one_line(e)}") from None
        if isinstance(e, OSError):
            raise ProvenanceError(f"could not write signed file {dst}: {e.strerror}") from None
        raise

    result = SignResult(
        dst=dst,
        manifest_label=label,
        size_bytes=size,
        manifest_bytes=manifest_size,
        sign_ms=(time.perf_counter() - started) * 1000,
    )
    log.debug("signed dst=%s label=%s bytes=%d sign_ms=%.1f", dst, label, size, result.sign_ms)
    return result


def sign_with_settings(src: Path, dst: Path, spec: ManifestSpec, settings: Settings) -> SignResult:
    """``sign_file`` with the identity and claim generator name from the workbench settings."""
    return sign_file(src, dst, spec, load_identity(settings), claim_generator=settings.signer_name)


def check_inputs(src: Path, dst: Path, spec: ManifestSpec) -> None:
    """Fail fast, before any signing work, with a message that says what to fix."""
    if spec.mime not in _MIME_NAMES:
        raise ProvenanceError(f"cannot sign {spec.mime!r}; supported: {', '.join(_MIME_NAMES)}")
    if not src.is_file():
        raise ProvenanceError(f"file to sign not found: {src}")
    if not dst.parent.is_dir():
        raise ProvenanceError(f"output directory does not exist: {dst.parent}")
    with src.open("rb") as f:
        head = f.read(16)
    if not _looks_like(head, spec.mime):
        kind = _MIME_NAMES[spec.mime]
        raise ProvenanceError(f"{src.name} is not a {kind} file (declared {spec.mime}); cannot sign it")

    ingredients = ([spec.parent] if spec.parent else []) + list(spec.components)
    for ing in ingredients:
        if ing.mime not in _INGREDIENT_MIMES or not _looks_like(ing.data[:16], ing.mime):
            raise ProvenanceError(f"ingredient {ing.title!r} is not a {ing.mime} file")
    if spec.parent is not None and spec.parent.relationship != "parentOf":
        raise ProvenanceError(f"the parent ingredient must be 'parentOf', got {spec.parent.relationship!r}")
    if any(c.relationship == "parentOf" for c in spec.components):
        raise ProvenanceError("only one parentOf ingredient is allowed; pass it as ManifestSpec.parent")

    _check_actions(spec)
    try:
        json.dumps(spec.recipe, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ProvenanceError(f"recipe is not plain JSON: {e}") from None


def build_definition(spec: ManifestSpec, *, label: str, claim_generator: str = CLAIM_GENERATOR) -> dict[str, Any]:
    """The c2pa-python manifest definition for ``spec`` (ingredients are added separately)."""
    agent = {"name": claim_generator, "version": workbench.__version__}
    edits = list(spec.actions)

    # c2pa.opened on the parent (or the generator's own c2pa.created) first, then placements
    if spec.parent is not None:
        actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}, "softwareAgent": agent}]
    else:
        actions = [_action_json(edits.pop(0), agent)]
    for i, comp in enumerate(spec.components):
        if comp.relationship == "componentOf":
            actions.append(
                {"action": "c2pa.placed", "parameters": {"ingredientIds": [f"component-{i}"]}, "softwareAgent": agent}
            )
    actions += [_action_json(edit, agent) for edit in edits]

    return {
        "label": label,
        "title": spec.title,
        "format": spec.mime,
        "claim_generator_info": [agent],
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": RECIPE_LABEL, "data": spec.recipe},
            {
                "label": TRAINING_MINING_LABEL,
                "data": {"entries": {use: {"use": "notAllowed"} for use in TRAINING_MINING_USES}},
            },
        ],
    }


# -- helpers -----------------------------------------------------------------------------------


def _sign_stream(
    definition: dict[str, Any], spec: ManifestSpec, identity: SigningIdentity, source: io.IOBase, out: io.IOBase
) -> int:
    context, signer = _signing_tools(identity)
    builder = c2pa.Builder(definition, context=context)
    try:
        if spec.parent is not None:
            _add_ingredient(builder, spec.parent, "parent")
        for i, comp in enumerate(spec.components):
            _add_ingredient(builder, comp, f"component-{i}")
        manifest = builder.sign(signer, spec.mime, source, out)
    finally:
        builder.close()
    return len(manifest)


_tools = threading.local()


def _signing_tools(identity: SigningIdentity) -> tuple[c2pa.Context, c2pa.Signer]:
    """The context and signer for ``identity``, made once per thread (they are not shared
    between threads) and reused: parsing the chain and key each time cost ~0.5 ms a file."""
    cached = getattr(_tools, "by_identity", None)
    if cached is None:
        cached = _tools.by_identity = {}
    key = (identity.alg, identity.chain_pem, identity.key_pem)
    if key not in cached:
        info = c2pa.C2paSignerInfo(identity.alg.encode(), identity.chain_pem, identity.key_pem, None)
        cached[key] = (c2pa.Context.from_dict(_SIGN_SETTINGS), c2pa.Signer.from_info(info))
    return cached[key]


def _action_json(edit: EditAction, agent: dict[str, str]) -> dict[str, Any]:
    action: dict[str, Any] = {"action": edit.action, "softwareAgent": edit.software_agent or agent}
    if edit.parameters:
        action["parameters"] = dict(edit.parameters)
    if edit.description:
        action["description"] = edit.description
    if edit.digital_source_type:  # only a model that made pixels says so
        action["digitalSourceType"] = edit.digital_source_type
    return action


def _add_ingredient(builder: c2pa.Builder, ing: Ingredient, instance_label: str) -> None:
    # "label" here only links the ingredient to the actions' ingredientIds; c2pa renames it.
    definition: dict[str, Any] = {"title": ing.title, "relationship": ing.relationship, "label": instance_label}
    if ing.metadata:
        definition["metadata"] = ing.metadata
    builder.add_ingredient(definition, ing.mime, io.BytesIO(ing.data))


def _check_actions(spec: ManifestSpec) -> None:
    names = [a.action for a in spec.actions]
    if spec.parent is not None and ("c2pa.opened" in names or "c2pa.created" in names):
        raise ProvenanceError(
            "actions must not include c2pa.opened/c2pa.created: c2pa.opened on the parent is added for you"
        )
    if spec.parent is None:
        if not names or names[0] != "c2pa.created" or not spec.actions[0].digital_source_type:
            raise ProvenanceError(
                "without a parent ingredient the first action must be c2pa.created with a digital_source_type"
            )
        if "c2pa.created" in names[1:] or "c2pa.opened" in names:
            raise ProvenanceError("c2pa.created may appear only once, first")
    for a in spec.actions:
        if not a.action:
            raise ProvenanceError("an EditAction has an empty action name")
        if a.digital_source_type is not None and not a.digital_source_type.startswith(DIGITAL_SOURCE_TYPE_PREFIX):
            raise ProvenanceError(
                f"digital_source_type of {a.action} must be an IPTC term ({DIGITAL_SOURCE_TYPE_PREFIX}...), "
                f"got {a.digital_source_type!r}"
            )


def _looks_like(head: bytes, mime: str) -> bool:
    if mime == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if mime == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if mime == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if mime in ("video/mp4", "video/quicktime"):  # ISO BMFF: both open with an ftyp box
        return head[4:8] == b"ftyp"
    if mime == "audio/mpeg":
        return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
    if mime == "audio/wav":
        return head[:4] == b"RIFF" and head[8:12] == b"WAVE"
    return False


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:300]
