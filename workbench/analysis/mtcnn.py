"""MTCNN face detection (Zhang et al., 2016), written for this project.

The three small networks (PNet, RNet, ONet) carry the trained weights that the
`facenet-pytorch` wheel ships as state dicts in `facenet_pytorch/data/{pnet,rnet,onet}.pt`.
That package's Python code imports torchvision, which does not import beside the CPU torch here,
so it is never imported: the data folder is found with `importlib.util.find_spec` (which does
not execute the package) and the state dicts load into the modules below, whose layer names
match the keys of those files.

The cascade, per image:

1. pyramid: scales 12/min_face_px * 0.709**k while the short side stays >= 12 px;
2. PNet (fully convolutional, 12x12 window, stride 2) proposes boxes; NMS per scale (IoU 0.5),
   then across scales (IoU 0.7); box regression; boxes made square;
3. RNet scores 24x24 crops of the proposals (all images' crops in one batch); NMS 0.7;
   regression; square;
4. ONet scores 48x48 crops and gives the final box regression and 5 landmarks
   (left eye, right eye, nose, left mouth corner, right mouth corner, as seen in the image);
   NMS 0.7 on intersection-over-minimum, so a box nested in a larger one goes;
5. (not in the paper) mirror check: ONet scores the final box again, mirrored left-right, and
   a face's score is the mean of both. Real faces score about as high mirrored (0.90-1.0 on
   the test media); the one false positive seen there, a blurred desk phone in obama.jpg at
   0.94, scored 0.62 mirrored (0.74 averaged, under the caller's 0.9 cut).

Boxes come back in input pixels as float (x1, y1, x2, y2) and may reach past the frame: the
caller clips them.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import torch
from torch import nn

from workbench.errors import AnalysisError

PYRAMID_FACTOR = 0.709
PNET_CELL = 12  # PNet sees a 12x12 window ...
PNET_STRIDE = 2  # ... every 2 pixels of the scaled image


# --- networks ---------------------------------------------------------------------------
# Layer names follow the keys of the shipped state dicts. The weights came from the original
# Caffe models, whose dense layers read feature maps in (W, H) order: the permute before
# flattening reproduces that order.


class PNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        face_prob = torch.softmax(self.conv4_1(x), dim=1)[:, 1]
        return face_prob, self.conv4_2(x)


class RNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = x.permute(0, 3, 2, 1).flatten(1)
        x = self.prelu4(self.dense4(x))
        face_prob = torch.softmax(self.dense5_1(x), dim=1)[:, 1]
        return face_prob, self.dense5_2(x)


class ONet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).flatten(1)
        x = self.prelu5(self.dense5(x))
        face_prob = torch.softmax(self.dense6_1(x), dim=1)[:, 1]
        return face_prob, self.dense6_2(x), self.dense6_3(x)


def find_weights_dir() -> Path | None:
    """The folder holding facenet-pytorch's pnet.pt/rnet.pt/onet.pt, or None when not installed."""
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    if all((data / f"{name}.pt").is_file() for name in ("pnet", "rnet", "onet")):
        return data
    return None


def load_networks(weights_dir: Path, device: torch.device) -> tuple[PNet, RNet, ONet]:
    nets = (PNet(), RNet(), ONet())
    for name, net in zip(("pnet", "rnet", "onet"), nets):
        path = weights_dir / f"{name}.pt"
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except Exception as exc:  # a corrupt or incompatible file: say which one
            raise AnalysisError(f"could not load MTCNN weights {path}: {exc}") from exc
        # channels_last: oneDNN runs these small convolutions 2-4x faster in NHWC on CPU, and
        # _to_tensor hands over NHWC images as they are.
        net.to(device, memory_format=torch.channels_last).eval()
    return nets


# --- box helpers (numpy, float pixel boxes x1, y1, x2, y2) ---------------------------------


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, mode: Literal["union", "min"] = "union") -> np.ndarray:
    """Indices of the boxes greedy non-maximum suppression keeps, best score first.

    mode "union" compares intersection over union, "min" intersection over the smaller box.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    if mode == "union":  # OpenCV's C++ loop: the same greedy result, about twice as fast
        xywh = np.hstack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
        kept = cv2.dnn.NMSBoxes(xywh, scores.astype(np.float32), 0.0, iou)
        return np.asarray(kept, dtype=np.int64).reshape(-1)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0)
        ih = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0)
        inter = iw * ih
        overlap = inter / np.maximum(np.minimum(areas[i], areas[rest]), 1e-9)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, groups: np.ndarray, iou: float, mode: Literal["union", "min"] = "union") -> np.ndarray:
    """NMS within each group (image), in one pass: groups are moved apart so they never overlap."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    span = boxes.max() - boxes.min() + 1.0
    offset = groups.astype(np.float64)[:, None] * span
    return nms(boxes + offset, scores, iou, mode)


def apply_regression(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Shift each edge by the network's regression, a fraction of the box width/height."""
    w = (boxes[:, 2] - boxes[:, 0])[:, None]
    h = (boxes[:, 3] - boxes[:, 1])[:, None]
    return boxes + reg * np.hstack([w, h, w, h])


def to_square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square on its longer side, about the same centre."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    cx = boxes[:, 0] + w / 2
    cy = boxes[:, 1] + h / 2
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)


def _to_tensor(batch_hwc: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) scaled to about -1..1, as the nets were trained.
    The permuted view keeps the NHWC memory layout, i.e. torch.channels_last."""
    t = torch.from_numpy(np.ascontiguousarray(batch_hwc)).to(device)
    return (t.permute(0, 3, 1, 2).float() - 127.5) * 0.0078125


@dataclass(frozen=True)
class Pyramid:
    """One image at the scales the cascade reads it: (scale, uint8 RGB array), largest first.
    Scale 1.0 (the image itself) is always the first level."""

    levels: list[tuple[float, np.ndarray]]

    @classmethod
    def build(cls, image: np.ndarray, scales: list[float]) -> "Pyramid":
        h, w = image.shape[:2]
        levels = [(1.0, image)]
        for scale in scales:  # each level from the one before: area averaging on ever smaller images
            size = (math.ceil(w * scale), math.ceil(h * scale))
            levels.append((scale, cv2.resize(levels[-1][1], size, interpolation=cv2.INTER_AREA)))
        return cls(levels)

    def level_for(self, box_side: float, out_size: int) -> tuple[float, np.ndarray]:
        """The smallest level on which the box still spans at least out_size pixels, so the crop
        is never shrunk by more than one pyramid step (bilinear sampling then does not alias)."""
        best = self.levels[0]
        for scale, level in self.levels[1:]:
            if box_side * scale >= out_size and scale < best[0]:
                best = (scale, level)
        return best


def crop_batch(pyramids: list[Pyramid], image_index: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(N, size, size, 3) uint8 crops of the boxes; parts outside the image are zero (black),
    as in the original MTCNN."""
    out = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
    for k, (idx, (x1, y1, x2, y2)) in enumerate(zip(image_index, boxes)):
        side = max(x2 - x1, y2 - y1, 1e-3)
        scale, level = pyramids[idx].level_for(side, size)
        # Affine map from crop pixel centres to level pixel centres.
        ax = (x2 - x1) * scale / size
        ay = (y2 - y1) * scale / size
        m = np.array([[ax, 0.0, x1 * scale + 0.5 * ax - 0.5], [0.0, ay, y1 * scale + 0.5 * ay - 0.5]])
        out[k] = cv2.warpAffine(
            level, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
        )
    return out


# --- the cascade ------------------------------------------------------------------------


@dataclass(frozen=True)
class RawDetections:
    """Faces found in one image, in input pixels."""

    boxes: np.ndarray  # (N, 4) float x1, y1, x2, y2
    scores: np.ndarray  # (N,) ONet face probability (mean with the mirrored crop's, see step 5)
    landmarks: np.ndarray  # (N, 5, 2) float x, y


def _empty() -> RawDetections:
    return RawDetections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))


def pyramid_scales(height: int, width: int, min_face_px: int, factor: float = PYRAMID_FACTOR) -> list[float]:
    """Scales at which PNet's 12 px window matches faces from min_face_px up to the short side."""
    scale = PNET_CELL / min_face_px
    short = min(height, width) * scale
    scales = []
    while short >= PNET_CELL:
        scales.append(scale)
        scale *= factor
        short *= factor
    return scales


class MTCNN:
    """The three-stage cascade over loaded networks. It keeps no per-call state."""

    def __init__(
        self,
        nets: tuple[PNet, RNet, ONet],
        min_face_px: int,
        thresholds: tuple[float, float, float],
        device: torch.device,
        mirror_check: bool = True,
    ) -> None:
        if min_face_px < PNET_CELL:
            raise ValueError(f"min_face_px must be >= {PNET_CELL} (PNet's window); upscale the image instead")
        self.pnet, self.rnet, self.onet = nets
        self.mirror_check = mirror_check
        self.min_face_px = min_face_px
        self.thresholds = thresholds
        self.device = device

    def detect(self, images: list[np.ndarray]) -> list[RawDetections]:
        """Run the cascade over uint8 RGB images; images of one size share each PNet pass."""
        if not images:
            return []
        with torch.inference_mode():
            # 1.-2. image pyramids; PNet proposals
            pyramids = [Pyramid.build(img, pyramid_scales(*img.shape[:2], self.min_face_px)) for img in images]
            idx, boxes = self._propose(pyramids)
            # 3. RNet refines all proposals of all images in one batch
            idx, boxes = self._refine(pyramids, idx, boxes)
            # 4.-5. ONet: final boxes and landmarks; mirror check
            return self._output(pyramids, idx, boxes)

    # steps 1-2
    def _propose(self, pyramids: list[Pyramid]) -> tuple[np.ndarray, np.ndarray]:
        by_shape: dict[tuple[int, int], list[int]] = {}
        for i, pyramid in enumerate(pyramids):
            by_shape.setdefault(pyramid.levels[0][1].shape[:2], []).append(i)

        all_idx, all_boxes, all_scores, all_reg = [], [], [], []
        for members in by_shape.values():
            for level in range(1, len(pyramids[members[0]].levels)):
                scale = pyramids[members[0]].levels[level][0]
                batch = np.stack([pyramids[i].levels[level][1] for i in members])
                prob, reg = self.pnet(_to_tensor(batch, self.device))
                prob, reg = prob.cpu().numpy(), reg.cpu().numpy()
                b, ys, xs = np.nonzero(prob >= self.thresholds[0])
                if len(b) == 0:
                    continue
                score = prob[b, ys, xs]
                # The window at feature cell (x, y) covers scaled pixels [2x, 2x + 12).
                cells = np.stack([xs, ys, xs, ys], axis=1).astype(np.float64) * PNET_STRIDE
                cells[:, 2:] += PNET_CELL
                found = cells / scale
                r = reg[b, :, ys, xs].astype(np.float64)
                image_idx = np.asarray(members)[b]
                keep = batched_nms(found, score, image_idx, 0.5)
                all_idx.append(image_idx[keep])
                all_boxes.append(found[keep])
                all_scores.append(score[keep])
                all_reg.append(r[keep])
        if not all_idx:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 4))
        idx = np.concatenate(all_idx)
        boxes = np.concatenate(all_boxes)
        scores = np.concatenate(all_scores)
        reg = np.concatenate(all_reg)
        keep = batched_nms(boxes, scores, idx, 0.7)
        boxes = to_square(apply_regression(boxes[keep], reg[keep]))
        return idx[keep], boxes

    # step 3
    def _refine(self, pyramids: list[Pyramid], idx: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(boxes) == 0:
            return idx, boxes
        crops = crop_batch(pyramids, idx, boxes, 24)
        prob, reg = self.rnet(_to_tensor(crops, self.device))
        prob, reg = prob.cpu().numpy(), reg.cpu().numpy().astype(np.float64)
        ok = prob >= self.thresholds[1]
        idx, boxes, prob, reg = idx[ok], boxes[ok], prob[ok], reg[ok]
        keep = batched_nms(boxes, prob, idx, 0.7)
        boxes = to_square(apply_regression(boxes[keep], reg[keep]))
        return idx[keep], boxes

    # steps 4-5
    def _output(self, pyramids: list[Pyramid], idx: np.ndarray, boxes: np.ndarray) -> list[RawDetections]:
        results = [_empty() for _ in pyramids]
        if len(boxes) == 0:
            return results
        crops = crop_batch(pyramids, idx, boxes, 48)
        prob, reg, marks = self.onet(_to_tensor(crops, self.device))
        prob = prob.cpu().numpy()
        reg = reg.cpu().numpy().astype(np.float64)
        marks = marks.cpu().numpy().astype(np.float64)
        ok = prob >= self.thresholds[2]
        idx, boxes, prob, reg, marks = idx[ok], boxes[ok], prob[ok], reg[ok], marks[ok]
        if len(boxes) == 0:
            return results
        # Landmarks are fractions of the (pre-regression) box: 5 x values, then 5 y values.
        w = (boxes[:, 2] - boxes[:, 0])[:, None]
        h = (boxes[:, 3] - boxes[:, 1])[:, None]
        points = np.stack([boxes[:, :1] + marks[:, :5] * w, boxes[:, 1:2] + marks[:, 5:] * h], axis=2)
        boxes = apply_regression(boxes, reg)
        keep = batched_nms(boxes, prob, idx, 0.7, mode="min")
        idx, boxes, prob, points = idx[keep], boxes[keep], prob[keep], points[keep]
        # Mirror check: a face is a face in a mirror too; textures that fool ONet mostly are not.
        if self.mirror_check:
            mirrored = crop_batch(pyramids, idx, to_square(boxes), 48)[:, :, ::-1]
            prob = (prob + self.onet(_to_tensor(mirrored, self.device))[0].cpu().numpy()) / 2
        for i in np.unique(idx):
            sel = idx == i
            order = np.argsort(-prob[sel], kind="stable")
            results[i] = RawDetections(boxes[sel][order], prob[sel][order], points[sel][order])
        return results
