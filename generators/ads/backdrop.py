"""The pause ad's frame extended by a diffusion model: the moment's frame is set, whole and real,
beside the panel and the rest of the 1920×1080 canvas is outpainted, so the product panel sits
on made scenery instead of covering the picture.

It reuses the thumbnails' outpaint treatment (:mod:`generators.diffusion.treatments`): the same
request (inpaint of everything outside the frame, over a classical blurred extension as the
starting image), the same feathered composite that keeps real pixels real, and the same honest
action (``c2pa.edited`` with ``compositeWithTrainedAlgorithmicMedia`` and the model as software
agent). Only the geometry differs: the frame goes to the side away from the panel, not to the
centre. Batched work is one request per still, run through the backend's batching."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from generators.ads.pause import (
    HEIGHT,
    PANEL_W,
    WIDTH,
    ExtendedBackdrop,
    PixelBox,
    safe_area,
)
from generators.diffusion.backend import DiffusionRequest
from generators.diffusion.styles import NEGATIVE_PROMPT, OUTPAINT_PROMPT
from generators.diffusion.treatments import (
    SEAM,
    Prepared,
    TreatmentParams,
    finish,
    work_size,
)
from workbench.creative import EditAction

GAP = 32  # between the real frame and the panel
PanelSide = Literal["left", "right"]


@dataclass(frozen=True)
class Extended:
    """A prepared or finished extension: what the still is composed on and what it took."""

    backdrop: ExtendedBackdrop
    actions: tuple[EditAction, ...]
    details: dict[str, Any]
    model_used: bool


def frame_box(frame_w: int, frame_h: int, panel_side: PanelSide = "right") -> PixelBox:
    """Where the whole frame goes: as large as fits the full height and the width the panel
    leaves, centred in that room."""
    sx0, _sy0, sx1, _sy1 = safe_area()
    room = (0, sx1 - PANEL_W - GAP) if panel_side == "right" else (sx0 + PANEL_W + GAP, WIDTH)
    room_w = room[1] - room[0]
    scale = min(room_w / frame_w, HEIGHT / frame_h)
    w, h = max(2, round(frame_w * scale)), max(2, round(frame_h * scale))
    x, y = room[0] + (room_w - w) // 2, (HEIGHT - h) // 2
    return x, y, x + w, y + h


def prepare_extension(frame_rgb: np.ndarray, treatment: TreatmentParams, steps_default: int,
                      panel_side: PanelSide = "right") -> Prepared:
    """Step 1 (CPU): the canvas with the frame placed and a classical fill round it, the mask of
    what the model makes, and its request at the working size."""
    import cv2

    from generators.diffusion import classical

    fh, fw = frame_rgb.shape[:2]
    x0, y0, x1, y1 = frame_box(fw, fh, panel_side)
    scaled = cv2.resize(np.ascontiguousarray(frame_rgb[..., :3]), (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    base = classical.extend_blurred(scaled, (WIDTH, HEIGHT), (x0, y0))
    mask = np.full((HEIGHT, WIDTH), 255, np.uint8)
    mask[y0:y1, x0:x1] = 0
    steps = treatment.steps or steps_default
    strength = treatment.strength if treatment.strength is not None else 1.0
    details = {"frame_box": {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}, "canvas": [WIDTH, HEIGHT],
               "panel_side": panel_side, "generated_share": round(float((mask > 0).mean()), 4),
               "prompt": treatment.prompt or OUTPAINT_PROMPT, "negative_prompt": treatment.negative_prompt or NEGATIVE_PROMPT,
               "steps": steps, "strength": strength}
    actions = [EditAction("c2pa.resized", {"from": [fw, fh], "to": [x1 - x0, y1 - y0], "filter": "area"})]
    prepared = Prepared(treatment, None, (WIDTH, HEIGHT), base, mask, [], actions, details, needs_work=True,
                        seam=max(2, round(min(WIDTH, HEIGHT) * SEAM)))
    ww, wh = work_size(WIDTH, HEIGHT, treatment.work_side)
    prepared.work_size = (ww, wh)
    from PIL import Image

    prepared.request = DiffusionRequest(
        operation="inpaint", prompt=details["prompt"], negative_prompt=details["negative_prompt"], width=ww, height=wh,
        seed=treatment.seed, steps=steps, guidance=treatment.guidance, strength=strength,
        image=Image.fromarray(cv2.resize(base, (ww, wh), interpolation=cv2.INTER_AREA)),
        mask=Image.fromarray(cv2.resize(mask, (ww, wh), interpolation=cv2.INTER_NEAREST)))
    return prepared


def extend_frames(frames: Sequence[np.ndarray], faces: Sequence[Sequence[Any]], saliency: Sequence[Any | None],
                  backend: Any, treatment: TreatmentParams, on_step: Any = None,
                  panel_side: PanelSide = "right") -> list[Extended]:
    """Steps 1-3 for several stills: prepare each, run the model on all requests in one call
    (the backend batches them), composite each (the frame's pixels stay the frame's)."""
    prepared = [prepare_extension(f, treatment, backend.default_steps, panel_side) for f in frames]
    results = backend.run([p.request for p in prepared], on_step=on_step)
    out = []
    for p, result, frame, fs, sal in zip(prepared, results, frames, faces, saliency):
        p.result = result
        treated = finish(p, backend.info)
        box = p.details["frame_box"]
        x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
        fh, fw = frame.shape[:2]
        backdrop = ExtendedBackdrop(np.asarray(treated.image.convert("RGB")), (x0, y0, x0 + w, y0 + h), panel_side,
                                    tuple(_place(f.box, box) for f in fs), _place(sal, box) if sal is not None else None)
        out.append(Extended(backdrop, treated.actions, {**treated.details, "source_size": [fw, fh]}, treated.model_used))
    return out


def _place(b: Any, box: dict[str, int]) -> PixelBox:
    """A box normalised to the frame, in pixels on the canvas where the frame is ``box``."""
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    return (int(np.floor(x0 + b.x * w)), int(np.floor(y0 + b.y * h)),
            int(np.ceil(x0 + (b.x + b.w) * w)), int(np.ceil(y0 + (b.y + b.h) * h)))


__all__ = ["Extended", "extend_frames", "frame_box", "prepare_extension"]
