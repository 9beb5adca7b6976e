"""Scene tags per keyframe, for matching products to moments.

Without a model: the classical tags analysis already measured (``keyframe.features.tags``:
bright, warm, close-up, no-people…), and the recipe says ``"scene_model": None``.

With ``WORKBENCH_SCENE_MODEL`` (a local directory holding a transformers CLIP model, its tokenizer
and image processor; never a hub id, nothing is downloaded): zero-shot tags against the
vocabulary in ``assets/ads/tags.json`` (places, objects, activities, moods), the best tag of each
group whose probability within the group beats the threshold (compared at 3 decimals, ties to
the vocabulary's order, so the pick does not depend on the batch size); keyframes are embedded in batches,
the vocabulary's text once per model. The classical tags are kept beside the model's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from workbench.analysis.types import Analysis
from workbench.errors import InvalidInput

ENV = "WORKBENCH_SCENE_MODEL"  # Settings.scene_model
VOCABULARY_PATH = Path(__file__).resolve().parents[2] / "assets" / "ads" / "tags.json"
BATCH = 16
IMAGE_SIDE = 224
DECIDE_DECIMALS = 3  # tags are chosen on probabilities rounded to this (see pick_tags)


@lru_cache(maxsize=2)
def load_vocabulary(path: str | None = None) -> dict[str, Any]:
    p = Path(path) if path else VOCABULARY_PATH
    data = json.loads(p.read_text("utf-8"))
    groups = data.get("groups")
    if not isinstance(groups, dict) or not all(isinstance(v, list) and v for v in groups.values()):
        raise InvalidInput(f"{p.name}: 'groups' must map group names to lists of tags")
    return data


def scene_model_dir(settings: Any = None) -> Path | None:
    """The configured scene model's folder (``WORKBENCH_SCENE_MODEL``), or None. A set but
    missing folder is an error."""
    from workbench.settings import get_settings

    configured = (settings or get_settings()).scene_model
    if configured is None or not str(configured).strip():
        return None
    value = str(configured)
    path = Path(value).expanduser()
    if not path.is_dir() or not (path / "config.json").is_file():
        raise InvalidInput(f"{ENV}={value!r} is not a local model folder (with config.json); hub ids are not fetched")
    return path


@dataclass
class SceneTags:
    """Tags per keyframe frame index; ``model`` is None when only the classical tags ran."""

    tags: dict[int, tuple[str, ...]]
    model: dict[str, Any] | None = None
    scores: dict[int, dict[str, float]] = field(default_factory=dict)

    def for_shot(self, analysis: Analysis, shot: int) -> frozenset[str]:
        out: set[str] = set()
        for k in analysis.keyframes:
            if k.shot == shot:
                out.update(self.tags.get(k.frame, ()))
        return frozenset(out)


def classical_tags(analysis: Analysis) -> SceneTags:
    return SceneTags({k.frame: tuple(k.features.tags) for k in analysis.keyframes}, None)


class ClipTagger:
    """A CLIP-style image-text model from a local folder, for zero-shot tagging."""

    def __init__(self, path: Path, device: str = "cpu") -> None:
        import torch
        from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

        self.path = Path(path)
        self.device = device
        torch.manual_seed(0)
        self.model = CLIPModel.from_pretrained(str(path), local_files_only=True).to(device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.processor = AutoImageProcessor.from_pretrained(str(path), local_files_only=True)
        self._text: dict[str, Any] = {}
        self.weights_sha256 = _weights_hash(self.path)

    def info(self) -> dict[str, Any]:
        return {"id": self.path.name, "path": str(self.path), "kind": "clip", "weights_sha256": self.weights_sha256}

    def text_embeddings(self, prompts: list[str]):
        import torch

        key = "\n".join(prompts)
        if key not in self._text:
            with torch.no_grad():
                tok = self.tokenizer(prompts, padding=True, return_tensors="pt")
                tok = {k: v.to(self.device) for k, v in tok.items() if k in ("input_ids", "attention_mask")}
                emb = self.model.get_text_features(**tok)
                emb = getattr(emb, "pooler_output", emb)
                self._text[key] = torch.nn.functional.normalize(emb, dim=-1)
        return self._text[key]

    def image_embeddings(self, images: list[np.ndarray]):
        import torch

        outs = []
        with torch.no_grad():
            for i in range(0, len(images), BATCH):
                batch = self.processor(images=[np.asarray(im) for im in images[i:i + BATCH]], return_tensors="pt")
                emb = self.model.get_image_features(pixel_values=batch["pixel_values"].to(self.device))
                emb = getattr(emb, "pooler_output", emb)
                outs.append(torch.nn.functional.normalize(emb, dim=-1))
        return torch.cat(outs) if outs else None

    def tag(self, images: list[np.ndarray], vocabulary: dict[str, Any]) -> list[tuple[tuple[str, ...], dict[str, float]]]:
        """Per image: the best tag of each group (over ``threshold``) and every tag's probability."""
        import torch

        template = vocabulary.get("prompt", "a photo of {}")
        threshold = float(vocabulary.get("threshold", 0.0))
        top = int(vocabulary.get("top_per_group", 1))
        img = self.image_embeddings(images)
        if img is None:
            return []
        scale = float(self.model.logit_scale.detach().exp().clamp(max=100))
        results: list[tuple[list[str], dict[str, float]]] = [([], {}) for _ in images]
        for tags in vocabulary["groups"].values():
            text = self.text_embeddings([template.format(t) for t in tags])
            probs = torch.softmax(scale * img @ text.T, dim=-1).cpu().numpy()
            for n, row in enumerate(probs):
                results[n][0].extend(pick_tags(row, tags, top, threshold))
                for t, p in zip(tags, row):
                    results[n][1][t] = round(float(p), 4)
        return [(tuple(t), s) for t, s in results]


def pick_tags(probs: Any, tags: list[str], top: int, threshold: float) -> list[str]:
    """The ``top`` best of ``tags`` whose probability beats ``threshold``, compared at
    :data:`DECIDE_DECIMALS` decimals with ties going to the earlier tag of the vocabulary.

    Why rounded: the same picture embedded in a batch of 16 or of 3 differs in the last float32
    bits (other matrix kernels), so two near-tied tags could swap on raw values; at 3 decimals they
    compare equal and the vocabulary order decides, the same way in every batch."""
    rounded = np.round(np.asarray(probs, dtype=np.float64), DECIDE_DECIMALS)
    order = np.lexsort((np.arange(len(tags)), -rounded))[:top]  # by rounded score, then vocabulary order
    return [tags[j] for j in order if rounded[j] > threshold]


def _weights_hash(path: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin")):
        digest.update(f.name.encode())
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _tagger(path: str) -> ClipTagger:
    return ClipTagger(Path(path))


READ_CHUNK = 64  # keyframes decoded at full size at once (then shrunk): memory stays bounded on long titles


def model_tags(analysis: Analysis, source: Path, model_dir: Path, only_shots: set[int] | None = None) -> SceneTags:
    """Zero-shot tags for the keyframes (of ``only_shots``, when given) read from ``source``, in
    chunks; the classical tags are kept beside the model's."""
    import cv2

    from workbench.media.frames import read_frames_rgb

    tagger = _tagger(str(model_dir))
    vocabulary = load_vocabulary()
    order = [k for k in analysis.keyframes if only_shots is None or k.shot in only_shots]
    small: list[np.ndarray] = []
    for i in range(0, len(order), READ_CHUNK):
        chunk = order[i:i + READ_CHUNK]
        frames = read_frames_rgb(source, [(k.frame, k.pts) for k in chunk])
        small += [cv2.resize(frames[k.frame], (IMAGE_SIDE, IMAGE_SIDE), interpolation=cv2.INTER_AREA) for k in chunk]
        del frames
    tagged = tagger.tag(small, vocabulary)
    tags, scores = {}, {}
    for k, (found, probs) in zip(order, tagged):
        tags[k.frame] = tuple(dict.fromkeys((*k.features.tags, *found)))
        scores[k.frame] = probs
    for k in analysis.keyframes:
        tags.setdefault(k.frame, tuple(k.features.tags))
    info = {**tagger.info(), "vocabulary": sum(len(v) for v in vocabulary["groups"].values()), "keyframes_tagged": len(order)}
    return SceneTags(tags, info, scores)


def scene_tags(analysis: Analysis, source: Path | None = None, model_dir: Path | None = None,
               only_shots: set[int] | None = None) -> SceneTags:
    """Classical tags, or a model's when ``model_dir`` (default: :data:`ENV`) names one; the
    keyframes (of ``only_shots``, when given) are read from ``source`` for the model."""
    model_dir = model_dir if model_dir is not None else scene_model_dir()
    if model_dir is None or source is None:
        return classical_tags(analysis)
    return model_tags(analysis, source, model_dir, only_shots)
