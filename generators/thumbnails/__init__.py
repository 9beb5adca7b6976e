"""Personalized thumbnails: segment scoring, diverse selection, smart crop and rendering.

Importing this package registers ``ThumbnailGenerator`` under the kind ``"thumbnail"``.
"""

from generators.thumbnails.crop import FORMATS, CropPlan, plan_crop
from generators.thumbnails.generator import ThumbnailGenerator, ThumbnailParams, ThumbnailPlan
from generators.thumbnails.scoring import ScoreBreakdown, Scored, score_keyframe, score_keyframes_for_segment
from generators.thumbnails.segments import SEGMENTS
from generators.thumbnails.selection import select_top_k

__all__ = [
    "FORMATS",
    "SEGMENTS",
    "CropPlan",
    "ScoreBreakdown",
    "Scored",
    "ThumbnailGenerator",
    "ThumbnailParams",
    "ThumbnailPlan",
    "plan_crop",
    "score_keyframe",
    "score_keyframes_for_segment",
    "select_top_k",
]
