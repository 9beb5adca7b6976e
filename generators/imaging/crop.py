"""Smart crop: where in a frame each placement is cut from, and the cut itself (shared by every
kind: thumbnails, treatments, export deliveries, vertical trailers).

``plan_crop`` is a pure function of sizes, faces and the saliency box. It always takes the
largest window of the target aspect that fits the frame (no zooming in, so no needless loss of
resolution) and only chooses where that window sits:

1. faces: keep every face box whole, with headroom above and a little room around it, when they
   fit; when they do not all fit, keep as many of the most important faces (area x confidence)
   as fit. One face is placed on a rule-of-thirds line (eye line on the upper third, and on the
   left or right third on the side it sits in the source, so the composition keeps its look room);
   several faces are centred, their middle a little above the window's centre. A face that cannot
   stay is left out whole where the window can slide so, rather than sliced at the edge.
2. no faces: centre on the saliency box (kept whole when it fits).
3. nothing known: centre.

When the window is smaller than the target size the resize upscales (Lanczos): ``upscaled``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

from workbench.analysis.types import Box, Face
from workbench.creative import EditAction

FORMATS: dict[str, tuple[int, int]] = {
    "16x9": (1920, 1080),
    "2x3": (1000, 1500),
    "1x1": (1080, 1080),
    "9x16": (1080, 1920),
}

# Room kept around a face, as fractions of the face box: above (forehead and hair), at the sides
# and below (chin). Dropped again when the padded faces would not fit the window.
HEADROOM = 0.30
SIDE_ROOM = 0.10
CHIN_ROOM = 0.10
# A single face this close to the frame's middle (fraction of the frame) is centred, not thirded.
CENTRE_TOLERANCE = 0.05

Strategy = Literal["all_faces", "some_faces", "saliency", "centre"]
PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


@dataclass(frozen=True)
class CropPlan:
    """A window in source pixels and the size it is resized to."""

    x: int
    y: int
    width: int
    height: int
    frame_width: int
    frame_height: int
    target_width: int
    target_height: int
    faces_kept: int
    faces_total: int
    strategy: Strategy

    @property
    def box(self) -> PixelBox:
        return (self.x, self.y, self.x + self.width, self.y + self.height)

    @property
    def is_full_frame(self) -> bool:
        return (self.x, self.y, self.width, self.height) == (0, 0, self.frame_width, self.frame_height)

    @property
    def needs_resize(self) -> bool:
        return (self.width, self.height) != (self.target_width, self.target_height)

    @property
    def upscaled(self) -> bool:
        return self.target_width > self.width or self.target_height > self.height

    def to_output(self, box: Box) -> tuple[float, float, float, float]:
        """A normalised source box in output pixels (x0, y0, x1, y1), not clipped."""
        sx = self.target_width / self.width
        sy = self.target_height / self.height
        return (
            (box.x * self.frame_width - self.x) * sx,
            (box.y * self.frame_height - self.y) * sy,
            ((box.x + box.w) * self.frame_width - self.x) * sx,
            ((box.y + box.h) * self.frame_height - self.y) * sy,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": {"x": self.x, "y": self.y, "width": self.width, "height": self.height},
            "source_size": [self.frame_width, self.frame_height],
            "target_size": [self.target_width, self.target_height],
            "faces_kept": self.faces_kept,
            "faces_total": self.faces_total,
            "strategy": self.strategy,
            "upscaled": self.upscaled,
        }


def window_size(frame_w: int, frame_h: int, target_w: int, target_h: int) -> tuple[int, int]:
    """The largest window of the target aspect that fits the frame."""
    if frame_w * target_h >= frame_h * target_w:  # frame is wider than the target
        return min(frame_w, max(1, round(frame_h * target_w / target_h))), frame_h
    return frame_w, min(frame_h, max(1, round(frame_w * target_h / target_w)))


def _to_pixels(box: Box, frame_w: int, frame_h: int, pad: tuple[float, float, float, float] = (0, 0, 0, 0)) -> PixelBox:
    left, top, right, bottom = pad
    x0 = (box.x - left * box.w) * frame_w
    y0 = (box.y - top * box.h) * frame_h
    x1 = (box.x + box.w + right * box.w) * frame_w
    y1 = (box.y + box.h + bottom * box.h) * frame_h
    return (
        min(max(math.floor(x0), 0), frame_w),
        min(max(math.floor(y0), 0), frame_h),
        max(min(math.ceil(x1), frame_w), 0),
        max(min(math.ceil(y1), frame_h), 0),
    )


def _union(boxes: Sequence[PixelBox]) -> PixelBox:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _fits(box: PixelBox, win_w: int, win_h: int) -> bool:
    return box[2] - box[0] <= win_w and box[3] - box[1] <= win_h


def _place(
    desired: float, size: int, limit: int, required: tuple[int, int] | None, avoid: Sequence[tuple[int, int]] = ()
) -> int:
    """Start of a window of ``size`` in ``[0, limit)`` that holds ``required``, slices as few of the
    ``avoid`` spans as it can (a face left out is left out whole), and is otherwise nearest ``desired``."""
    lo, hi = 0, limit - size
    if required is not None:
        lo, hi = max(lo, required[1] - size), min(hi, required[0])
    candidates = {int(min(max(round(desired), lo), hi))}
    candidates.update(c for a, b in avoid for c in (a - size, b) if lo <= c <= hi)

    def sliced(start: int) -> int:
        end = start + size
        return sum(1 for a, b in avoid if start < b and end > a and not (start <= a and end >= b))

    return min(candidates, key=lambda start: (sliced(start), abs(start - desired), start))


def _contains(window: PixelBox, box: PixelBox) -> bool:
    return box[0] >= window[0] and box[1] >= window[1] and box[2] <= window[2] and box[3] <= window[3]


CROP_SHIFTS: tuple[str, ...] = ("left", "right", "up", "down")
SHIFT_SHARE = 0.5  # of the room the window has on that side


def shift_crop(plan: CropPlan, direction: str | None, faces: Sequence[Face] = ()) -> CropPlan:
    """The same window moved towards one side by half the room it has there (a reviewer's
    "another crop"); unchanged when there is no room or no direction."""
    if direction is None:
        return plan
    if direction not in CROP_SHIFTS:
        raise ValueError(f"unknown crop shift {direction!r}; known: {', '.join(CROP_SHIFTS)}")
    x, y = plan.x, plan.y
    if direction == "left":
        x = plan.x - round(plan.x * SHIFT_SHARE)
    elif direction == "right":
        x = plan.x + round((plan.frame_width - plan.width - plan.x) * SHIFT_SHARE)
    elif direction == "up":
        y = plan.y - round(plan.y * SHIFT_SHARE)
    else:
        y = plan.y + round((plan.frame_height - plan.height - plan.y) * SHIFT_SHARE)
    window = (x, y, x + plan.width, y + plan.height)
    kept = sum(1 for f in faces if _contains(window, _to_pixels(f.box, plan.frame_width, plan.frame_height)))
    return dataclasses.replace(plan, x=x, y=y, faces_kept=kept if faces else plan.faces_kept)


def plan_crop(
    frame_w: int,
    frame_h: int,
    target_w: int,
    target_h: int,
    faces: Sequence[Face] = (),
    saliency_box: Box | None = None,
) -> CropPlan:
    """Where to cut a ``target_w`` x ``target_h`` thumbnail from a ``frame_w`` x ``frame_h`` frame."""
    if min(frame_w, frame_h, target_w, target_h) <= 0:
        raise ValueError(f"sizes must be positive: frame {frame_w}x{frame_h}, target {target_w}x{target_h}")
    win_w, win_h = window_size(frame_w, frame_h, target_w, target_h)
    pad = (SIDE_ROOM, HEADROOM, SIDE_ROOM, CHIN_ROOM)
    face_boxes = [_to_pixels(f.box, frame_w, frame_h) for f in faces]

    # 1. choose what must stay in the window and where the window would ideally start
    required: PixelBox | None = None
    left_out: list[PixelBox] = []  # faces that cannot stay: keep them out whole rather than sliced
    strategy: Strategy = "centre"
    desired_x, desired_y = (frame_w - win_w) / 2, (frame_h - win_h) / 2
    if faces:
        order = sorted(range(len(faces)), key=lambda i: faces[i].box.area * faces[i].confidence, reverse=True)
        chosen: list[int] = []
        for i in order:
            if _fits(_union([face_boxes[j] for j in chosen + [i]]), win_w, win_h):
                chosen.append(i)
        # the most important face alone is bigger than the window: centre on it, keep what we can
        focus = chosen or order[:1]
        padded = _union([_to_pixels(faces[i].box, frame_w, frame_h, pad) for i in focus])
        tight = _union([face_boxes[i] for i in focus])
        if chosen:
            required = padded if _fits(padded, win_w, win_h) else tight
        left_out = [face_boxes[i] for i in order if i not in focus]
        if len(focus) == 1:
            box = faces[focus[0]].box
            eye_y = (box.y + 0.4 * box.h) * frame_h
            cx = box.cx
            third = 1 / 3 if cx < 0.5 - CENTRE_TOLERANCE else 2 / 3 if cx > 0.5 + CENTRE_TOLERANCE else 1 / 2
            desired_x = cx * frame_w - third * win_w
            desired_y = eye_y - win_h / 3
        else:
            desired_x = (tight[0] + tight[2]) / 2 - win_w / 2
            desired_y = (tight[1] + tight[3]) / 2 - 0.4 * win_h
    elif saliency_box is not None and saliency_box.area > 0:
        strategy = "saliency"
        sal = _to_pixels(saliency_box, frame_w, frame_h)
        if _fits(sal, win_w, win_h):
            required = sal
        desired_x = saliency_box.cx * frame_w - win_w / 2
        desired_y = saliency_box.cy * frame_h - win_h / 2

    # 2. slide the window as near the ideal as the frame and the required box allow
    need_x = None if required is None else (required[0], required[2])
    need_y = None if required is None else (required[1], required[3])
    x = _place(desired_x, win_w, frame_w, need_x, [(b[0], b[2]) for b in left_out])
    # only faces the window overlaps horizontally can be sliced by its top or bottom edge
    y = _place(desired_y, win_h, frame_h, need_y, [(b[1], b[3]) for b in left_out if b[0] < x + win_w and b[2] > x])

    # 3. report what was kept
    window = (x, y, x + win_w, y + win_h)
    kept = sum(1 for b in face_boxes if _contains(window, b))
    if faces:
        strategy = "all_faces" if kept == len(faces) else "some_faces"
    return CropPlan(x, y, win_w, win_h, frame_w, frame_h, target_w, target_h, kept, len(faces), strategy)


def apply_crop(frame: Image.Image, plan: CropPlan) -> tuple[Image.Image, list[EditAction]]:
    """``frame`` cut and resized as ``plan`` says (RGB), and the actions that say so:
    ``c2pa.cropped`` unless the window is the whole frame, ``c2pa.resized`` when the size changes."""
    actions: list[EditAction] = []
    if not plan.is_full_frame:
        actions.append(
            EditAction(
                "c2pa.cropped",
                {"x": plan.x, "y": plan.y, "width": plan.width, "height": plan.height, "unit": "px"},
            )
        )
    if plan.needs_resize:
        # reducing_gap lets Pillow shrink by an integer factor first on big downscales (4K sources)
        image = frame.resize(
            (plan.target_width, plan.target_height), Image.Resampling.LANCZOS, box=plan.box, reducing_gap=3.0
        )
        actions.append(
            EditAction(
                "c2pa.resized",
                {
                    "from": [plan.width, plan.height],
                    "to": [plan.target_width, plan.target_height],
                    "filter": "lanczos",
                    "upscaled": plan.upscaled,
                },
            )
        )
    else:
        image = frame.crop(plan.box)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image, actions
