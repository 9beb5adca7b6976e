"""Mood per shot, named (upbeat, tense, romantic, calm, sad), from what analysis measured:
brightness, colour warmth, motion, audio energy, speech share and smiles. Each mood's score is a
weighted sum of those signals (each 0..1) from :data:`MOOD_WEIGHTS`, kept with its terms so a
reviewer sees why a shot reads as tense."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.analysis.types import Analysis, Shot

MOODS = ("upbeat", "tense", "romantic", "calm", "sad")
MOTION_FULL = 0.15  # mean frame difference at which a shot counts as all motion
ENERGY_FLOOR_DB, ENERGY_CEIL_DB = -60.0, -6.0

# signal -> weight, per mood; "1-x" reads the inverse of a signal. Weights of a mood sum to 1.
MOOD_WEIGHTS: dict[str, dict[str, float]] = {
    "upbeat": {"brightness": 0.3, "smile": 0.25, "motion": 0.2, "energy": 0.15, "warmth": 0.1},
    "tense": {"1-brightness": 0.3, "motion": 0.25, "energy": 0.2, "1-smile": 0.15, "1-warmth": 0.1},
    "romantic": {"warmth": 0.3, "smile": 0.2, "1-motion": 0.2, "two_faces": 0.2, "1-energy": 0.1},
    "calm": {"1-motion": 0.4, "1-energy": 0.3, "1-speech": 0.15, "mid_brightness": 0.15},
    "sad": {"1-brightness": 0.3, "1-warmth": 0.25, "1-motion": 0.2, "1-smile": 0.15, "1-energy": 0.1},
}


@dataclass(frozen=True)
class ShotMood:
    shot: int
    mood: str  # the best-scoring one
    scores: dict[str, float]
    signals: dict[str, float]

    def to_dict(self) -> dict:
        return {"shot": self.shot, "mood": self.mood, "scores": self.scores, "signals": self.signals}


def _clip(v: float) -> float:
    return max(0.0, min(1.0, float(v)))


def shot_energy(analysis: Analysis, shot: Shot) -> float | None:
    """Mean RMS level over the shot, 0 (silence, -60 dBFS) .. 1 (-6 dBFS); None without audio."""
    a = analysis.audio
    if not a.energy_db or a.energy_hop <= 0:
        return None
    lo = max(0, int(shot.start_time / a.energy_hop))
    hi = min(len(a.energy_db), max(lo + 1, int(shot.end_time / a.energy_hop)))
    values = a.energy_db[lo:hi]
    if not values:
        return None
    db = sum(values) / len(values)
    return _clip((db - ENERGY_FLOOR_DB) / (ENERGY_CEIL_DB - ENERGY_FLOOR_DB))


def shot_signals(analysis: Analysis, shot: Shot) -> dict[str, float]:
    kfs = [k for k in analysis.keyframes if k.shot == shot.index] or []
    n = max(1, len(kfs))
    brightness = sum(k.features.brightness for k in kfs) / n if kfs else 0.5
    warmth = sum(k.features.warmth for k in kfs) / n if kfs else 0.0
    smile = max((k.smile for k in kfs), default=0.0)
    two = max((1.0 if k.face_count == 2 else 0.0 for k in kfs), default=0.0)
    energy = shot_energy(analysis, shot)
    return {
        "brightness": round(_clip(brightness), 4),
        "warmth": round(_clip((warmth * 4 + 1) / 2), 4),  # mean R-B is small: +-0.25 spans the scale
        "motion": round(_clip(shot.motion / MOTION_FULL), 4),
        "energy": round(0.0 if energy is None else energy, 4),
        "speech": round(_clip(shot.speech_share), 4),
        "smile": round(_clip(smile), 4),
        "two_faces": two,
        "mid_brightness": round(_clip(1 - abs(brightness - 0.5) * 2), 4),
    }


def score_moods(signals: dict[str, float]) -> dict[str, float]:
    out = {}
    for mood, weights in MOOD_WEIGHTS.items():
        total = 0.0
        for name, w in weights.items():
            v = 1 - signals[name[2:]] if name.startswith("1-") else signals[name]
            total += w * v
        out[mood] = round(total, 4)
    return out


def shot_moods(analysis: Analysis) -> list[ShotMood]:
    """One :class:`ShotMood` per shot, in shot order."""
    result = []
    for shot in analysis.shots:
        signals = shot_signals(analysis, shot)
        scores = score_moods(signals)
        best = max(MOODS, key=lambda m: (scores[m], -MOODS.index(m)))
        result.append(ShotMood(shot.index, best, scores, signals))
    return result
