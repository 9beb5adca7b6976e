"""Which shots a trailer cut uses, for how long, in what order: a pure function of the analysis.

1. **Usable footage.** Each shot's clean span: the shot minus a guard at each end (no flash frame
   of a neighbouring shot), minus every fade and dissolve (never cut into one), cut off at the
   spoiler guard (by default nothing from the last 15 % of the runtime). Shots whose keyframes
   are all black, blurred or inside a transition are out.
2. **Scores.** A shot's score for the segment is the best of its keyframes' segment scores (the
   thumbnails' table, ``generators.audience``) plus shot-level terms: motion, loudness, faces,
   speech (romance and drama like dialogue; action likes movement). Every term is recorded.
3. **Pacing.** The clip lengths follow a curve: build-up, peak (shots get shorter towards ~75 %
   of the cut), resolve; bounded by the minimum and maximum shot length; or steady. With a music
   bed, edits are moved onto its beats (within a quarter second).
4. **Choice.** The best shots for the segment that can hold a clip, kept in story order, each
   used once; a shot's clip window is the stretch of its clean span that starts and ends outside
   speech (never mid-word) and scores best (motion for action, faces for romance...).

Everything is in whole output frames, so the cut is frame-exact.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from generators.audience.scoring import rejection_reasons, score_keyframe
from generators.audience.segments import get_segment
from generators.trailers.timeline import Card, Clip
from workbench.analysis.types import Analysis, Shot, Span
from workbench.errors import InvalidInput

Pacing = Literal["build", "steady"]

EDGE_GUARD_S = 0.12  # kept away from each shot boundary (detection is per frame; no flash frames)
SPOILER_GUARD = 0.15  # the last share of the runtime never used
SEED_NUDGE = 0.08  # how far a seed may move a shot's score
BEAT_SNAP_S = 0.25  # an edit this close to a beat moves onto it
TITLE_CARD_S = 2.0
END_CARD_S = 2.5
CARD_SHARE_MAX = 0.35  # cards take at most this share of a short trailer

# Shot-level terms, per segment: (motion, loudness, faces, speech) weights added to the best
# keyframe score. Dialogue sells romance and drama; action and thrillers sell movement and noise.
SHOT_TERMS: dict[str, tuple[float, float, float, float]] = {
    "action": (0.35, 0.20, 0.00, -0.10),
    "romance": (-0.05, 0.00, 0.15, 0.15),
    "comedy": (0.05, 0.05, 0.15, 0.10),
    "drama": (-0.05, 0.00, 0.15, 0.20),
    "family": (0.05, 0.05, 0.15, 0.05),
    "thriller": (0.20, 0.15, 0.05, 0.00),
    "horror": (0.15, 0.20, 0.00, -0.05),
    "kids": (0.15, 0.10, 0.10, 0.00),
}


@dataclass(frozen=True)
class Lengths:
    """Shot length bounds and the average length, by trailer duration."""

    minimum: float
    maximum: float
    average: float

    @classmethod
    def for_duration(cls, seconds: float) -> Lengths:
        if seconds <= 20:
            return cls(0.6, 3.0, 1.3)
        if seconds <= 45:
            return cls(0.7, 4.0, 1.8)
        return cls(0.8, 5.0, 2.4)


@dataclass(frozen=True)
class ShotChoice:
    shot: int
    score: float
    span: tuple[float, float]  # the clean span, analysis clock
    terms: dict[str, float] = field(default_factory=dict)
    why: str = ""


@dataclass(frozen=True)
class CutPlan:
    segment: str
    duration: float  # seconds, exactly frames / fps
    fps: Fraction
    items: tuple[Clip | Card, ...]
    choices: tuple[ShotChoice, ...]  # the shots used, in story order, with their scores
    usable_s: float  # clean footage available after the guards
    spoiler_cutoff: float  # nothing at or after this analysis time is used
    pacing: Pacing
    beats_used: bool

    @property
    def clips(self) -> list[Clip]:
        return [i for i in self.items if isinstance(i, Clip)]


# -- 1. usable footage ------------------------------------------------------------------------


def blocked_spans(analysis: Analysis) -> list[tuple[float, float]]:
    """Spans no clip may touch: fades and dissolves (analysis clock)."""
    out = []
    fps = analysis.fps or 25.0
    for t in analysis.transitions:
        if t.kind == "cut":
            continue
        start = t.start_time if t.start_time is not None else t.start_frame / fps
        end = t.end_time if t.end_time is not None else (t.end_frame + 1) / fps
        out.append((start, end))
    return out


def clean_span(shot: Shot, blocked: Sequence[tuple[float, float]], cutoff: float) -> tuple[float, float] | None:
    """The longest part of a shot a clip may use: guarded ends, no fade or dissolve, before the
    spoiler cutoff (None: nothing left)."""
    start, end = shot.start_time + EDGE_GUARD_S, min(shot.end_time - EDGE_GUARD_S, cutoff)
    pieces = [(start, end)]
    for b0, b1 in blocked:
        nxt = []
        for a, b in pieces:
            if b1 <= a or b0 >= b:
                nxt.append((a, b))
                continue
            if b0 > a:
                nxt.append((a, b0 - EDGE_GUARD_S))
            if b1 < b:
                nxt.append((b1 + EDGE_GUARD_S, b))
        pieces = nxt
    pieces = [(a, b) for a, b in pieces if b > a]
    return max(pieces, key=lambda p: p[1] - p[0]) if pieces else None


def spoiler_cutoff(analysis: Analysis, guard: float) -> float:
    return analysis.duration * (1.0 - guard)


# -- 2. scores --------------------------------------------------------------------------------


def score_shots(analysis: Analysis, segment: str, guard: float) -> list[ShotChoice]:
    """Every shot that can hold a clip, scored for ``segment`` (best first)."""
    seg = get_segment(segment)
    blocked = blocked_spans(analysis)
    cutoff = spoiler_cutoff(analysis, guard)
    by_shot: dict[int, list] = {}
    for kf in analysis.keyframes:
        by_shot.setdefault(kf.shot, []).append(kf)
    wm, wl, wf, ws = SHOT_TERMS.get(seg.name, (0.1, 0.1, 0.1, 0.0))
    out = []
    for shot in analysis.shots:
        span = clean_span(shot, blocked, cutoff)
        if span is None:
            continue
        kfs = [k for k in by_shot.get(shot.index, []) if not rejection_reasons(k)]
        if not kfs:
            continue  # black, blurred or a transition throughout
        best = max((score_keyframe(k, shot, seg) for k in kfs), key=lambda b: b.total)
        motion = min(1.0, shot.motion / 0.15)
        loud = 0.5 if shot.loudness_lufs is None else min(1.0, max(0.0, (shot.loudness_lufs + 40) / 30))
        faces = min(1.0, max((k.face_count for k in kfs), default=0) / 2)
        terms = {"frame": round(best.total, 4), "motion": round(wm * motion, 4), "loudness": round(wl * loud, 4),
                 "faces": round(wf * faces, 4), "speech": round(ws * shot.speech_share, 4)}
        total = sum(terms.values())
        top = sorted(((k, v) for k, v in terms.items()), key=lambda kv: -abs(kv[1]))[:2]
        best_terms = ", ".join(f"{t.feature} {t.contribution:+.2f}" for t in sorted(best.terms, key=lambda t: -t.contribution)[:2])
        why = (f"{seg.name} score {total:.2f} (strongest: {', '.join(f'{k} {v:+.2f}' for k, v in top)};"
               f" its best frame: {best_terms})")
        out.append(ShotChoice(shot.index, total, span, terms, why))
    out.sort(key=lambda c: (-c.score, c.shot))
    return out


# -- 3. pacing --------------------------------------------------------------------------------


def pacing_lengths(seconds: float, pacing: Pacing, lengths: Lengths) -> list[float]:
    """Clip lengths that add up to ``seconds``: shorter towards the peak (~75 %), longer at the
    build-up and at the resolve; all within the bounds."""
    n = max(1, round(seconds / lengths.average))
    if pacing == "steady":
        raw = [1.0] * n
    else:
        raw = [1.0 - 0.6 * math.exp(-(((i + 0.5) / n - 0.75) ** 2) / 0.03) for i in range(n)]
    scale = seconds / sum(raw)
    out = [min(lengths.maximum, max(lengths.minimum, r * scale)) for r in raw]
    # re-balance what the bounds took or added, over the clips that have room
    for _ in range(20):
        gap = seconds - sum(out)
        if abs(gap) < 1e-6:
            break
        room = [i for i, v in enumerate(out) if (gap > 0 and v < lengths.maximum) or (gap < 0 and v > lengths.minimum)]
        if not room:
            break
        for i in room:
            out[i] = min(lengths.maximum, max(lengths.minimum, out[i] + gap / len(room)))
    return out


def to_frames(lengths: Sequence[float], total_frames: int, fps: Fraction) -> list[int]:
    """Whole frames per clip, adding up to ``total_frames`` exactly (largest remainders first)."""
    exact = [v * float(fps) for v in lengths]
    scale = total_frames / sum(exact) if sum(exact) else 0
    exact = [e * scale for e in exact]
    frames = [max(1, math.floor(e)) for e in exact]
    short = total_frames - sum(frames)
    order = sorted(range(len(exact)), key=lambda i: -(exact[i] - math.floor(exact[i])))
    i = 0
    while short > 0 and order:
        frames[order[i % len(order)]] += 1
        short -= 1
        i += 1
    while short < 0:
        j = max(range(len(frames)), key=lambda k: frames[k])
        frames[j] -= 1
        short += 1
    return frames


def snap_to_beats(frames: list[int], beats: Sequence[float], offset: float, fps: Fraction, lengths: Lengths) -> tuple[list[int], bool]:
    """Move each edit (the boundary between clips) onto the nearest beat within BEAT_SNAP_S,
    keeping the total and the length bounds. ``beats`` and ``offset`` are on the record clock."""
    if not beats or len(frames) < 2:
        return frames, False
    f = float(fps)
    lo, hi = math.ceil(lengths.minimum * f), math.floor(lengths.maximum * f)
    edges = [sum(frames[: i + 1]) for i in range(len(frames) - 1)]
    moved = False
    for i, edge in enumerate(edges):
        t = offset + edge / f
        beat = min(beats, key=lambda b: abs(b - t))
        if abs(beat - t) > BEAT_SNAP_S:
            continue
        target = round((beat - offset) * f)
        prev = edges[i - 1] if i else 0
        nxt = edges[i + 1] if i + 1 < len(edges) else sum(frames)
        if lo <= target - prev <= hi and lo <= nxt - target <= hi:
            moved = moved or target != edge
            edges[i] = target
    bounds = [0, *edges, sum(frames)]
    return [b - a for a, b in zip(bounds, bounds[1:])], moved


# -- 4. choice ----------------------------------------------------------------------------------


def plan_cut(analysis: Analysis, segment: str, seconds: float, fps: Fraction, *, pacing: Pacing = "build",
             guard: float = SPOILER_GUARD, title: str = "", tagline: str | None = None, call_to_action: str | None = None,
             date: str | None = None, music_beats: Sequence[float] = (), exclude_shots: Sequence[int] = (),
             avoid: dict[int, float] | None = None, cards: bool = True, seed: int = 0,
             card_s: tuple[float, float] = (TITLE_CARD_S, END_CARD_S), only_shots: Collection[int] | None = None,
             boost: Mapping[int, float] | None = None) -> CutPlan:
    """The cut of ``seconds`` (exactly, in frames) for ``segment``. ``avoid`` maps shots to a
    penalty (other segments' picks: keeps segments' cuts apart); ``exclude_shots`` are never used
    (a reviewer dropped them); a ``seed`` other than 0 nudges each shot's score by up to
    :data:`SEED_NUDGE` (another choice among shots of near-equal score); ``card_s`` is the brand
    template's title card and end slate lengths (a title card of 0 s: none). ``only_shots``, when
    given, restricts the cut to those shots (an ad spot's brand-safe, matched shots); ``boost``
    adds to a shot's score (an ad's match score). InvalidInput, naming the
    usable footage, when the title cannot fill the cut."""
    total_frames = round(seconds * float(fps))
    f = float(fps)
    # cards: a title card and an end slate, shortened on short cuts
    title_s, end_s = card_s
    cards_total = title_s + end_s if cards else 0.0
    if cards and cards_total > CARD_SHARE_MAX * seconds:
        cards_total = CARD_SHARE_MAX * seconds
    title_frames = round(cards_total * title_s / (title_s + end_s) * f) if cards and title_s + end_s > 0 else 0
    end_frames = round(cards_total * f) - title_frames if cards and title_s + end_s > 0 else 0
    clip_frames = total_frames - title_frames - end_frames
    lengths = Lengths.for_duration(seconds)
    candidates = [c for c in score_shots(analysis, segment, guard) if c.shot not in set(exclude_shots)
                  and (only_shots is None or c.shot in set(only_shots))]
    usable = sum(c.span[1] - c.span[0] for c in candidates)
    clip_s = clip_frames / f
    if usable + 1e-6 < clip_s:
        raise InvalidInput(
            f"the title has {usable:.1f} s of usable footage for a {seconds:g} s trailer (it needs {clip_s:.1f} s of shots"
            f" after the title card and end slate): shots end {guard:.0%} before the end (spoiler guard), and fades,"
            " dissolves, black and blurred frames are left out; ask for a shorter cut")
    if avoid or seed or boost:
        rng = random.Random(seed)
        nudge = {c.shot: rng.uniform(0, SEED_NUDGE) if seed else 0.0 for c in sorted(candidates, key=lambda c: c.shot)}
        candidates = sorted(candidates, key=lambda c: (-(c.score - (avoid or {}).get(c.shot, 0.0) + (boost or {}).get(c.shot, 0.0)
                                                         + nudge[c.shot]), c.shot))
    # 4a. lengths, then shots that can hold them (add shots until every clip fits)
    want = pacing_lengths(clip_s, pacing, lengths)
    chosen: list[ShotChoice] = []
    for c in candidates:
        if len(chosen) >= len(want):
            break
        if c.span[1] - c.span[0] >= lengths.minimum:
            chosen.append(c)
    if not chosen:
        raise InvalidInput(f"no shot of the title is at least {lengths.minimum:g} s long outside fades, black and the spoiler guard")
    if len(chosen) < len(want):  # fewer shots than the pacing asked for: longer clips
        want = pacing_lengths(clip_s, pacing, Lengths(lengths.minimum, max(lengths.maximum, clip_s / len(chosen)),
                                                   clip_s / len(chosen)))[: len(chosen)]
        want = [w * clip_s / sum(want) for w in want]
    chosen.sort(key=lambda c: c.span[0])  # story order

    def cap(c: ShotChoice) -> float:  # what a shot holds, in whole output frames (the cut is counted in frames)
        return math.floor((c.span[1] - c.span[0]) * f + 1e-9) / f

    capacity = [cap(c) for c in chosen]
    # clips longer than their shot give the rest to shots with room
    lens = _fit_capacity(want, capacity)
    if lens is None:
        for c in candidates:  # one more shot at a time until the footage holds the cut
            if c in chosen or c.span[1] - c.span[0] < lengths.minimum:
                continue
            chosen.append(c)
            chosen.sort(key=lambda x: x.span[0])
            capacity = [cap(x) for x in chosen]
            want = [clip_s / len(chosen)] * len(chosen)
            lens = _fit_capacity(want, capacity)
            if lens is not None:
                break
    if lens is None:
        raise InvalidInput(f"the title's {usable:.1f} s of usable footage is in shots too short to fill a {seconds:g} s cut")
    frames = to_frames(lens, clip_frames, fps)
    caps = [round(c * f) for c in capacity]
    frames = [min(fr, c) for fr, c in zip(frames, caps)]
    frames = _refill(frames, clip_frames, caps)
    beats_used = False
    if music_beats:
        frames, beats_used = snap_to_beats(frames, music_beats, title_frames / f, fps, lengths)
        frames = [min(fr, c) for fr, c in zip(frames, caps)]
        frames = _refill(frames, clip_frames, caps)
    # 4b. where in each shot: outside speech at both ends, the best-scoring stretch
    clips = [Clip(shot=c.shot, source_in=_window(analysis, c, n / f, segment), frames=n, why=c.why, score=round(c.score, 4))
             for c, n in zip(chosen, frames)]
    items: list[Clip | Card] = []
    if title_frames:
        items.append(Card("title", title_frames, title, tagline=tagline))
    items.extend(clips)
    if end_frames:
        items.append(Card("end", end_frames, title, tagline=tagline, call_to_action=call_to_action, date=date))
    return CutPlan(segment, total_frames / f, fps, tuple(items), tuple(chosen), round(usable, 3),
                   spoiler_cutoff(analysis, guard), pacing, beats_used)


def _fit_capacity(want: list[float], capacity: list[float]) -> list[float] | None:
    out = [min(w, c) for w, c in zip(want, capacity)]
    for _ in range(50):
        gap = sum(want) - sum(out)
        if gap <= 1e-6:
            return out
        room = [i for i, (v, c) in enumerate(zip(out, capacity)) if v < c - 1e-9]
        if not room:
            return None
        for i in room:
            out[i] = min(capacity[i], out[i] + gap / len(room))
    return out if sum(want) - sum(out) <= 1e-3 else None


def _refill(frames: list[int], total: int, caps: list[int]) -> list[int]:
    """Frames back to ``total`` after a cap took some (one at a time, to clips with room)."""
    frames = list(frames)
    short = total - sum(frames)
    i = 0
    while short > 0 and any(fr < cap for fr, cap in zip(frames, caps)):
        j = i % len(frames)
        if frames[j] < caps[j]:
            frames[j] += 1
            short -= 1
        i += 1
    if short > 0:
        raise InvalidInput("the chosen shots cannot hold the cut to the frame")
    return frames


def _inside_speech(speech: Sequence[Span], t: float) -> bool:
    return any(s.start < t < s.end for s in speech)


def _window(analysis: Analysis, choice: ShotChoice, length: float, segment: str) -> float:
    """The clip's start within the shot's clean span: both ends outside speech when possible, then
    the stretch with the most motion energy (action, thriller, horror) or the middle of the shot."""
    a, b = choice.span
    slack = b - a - length
    if slack <= 1e-6:
        return round(a, 6)
    speech = analysis.audio.speech
    steps = max(1, min(60, int(slack / 0.04)))
    best, best_key = a, None
    energy = analysis.audio.energy_db
    hop = analysis.audio.energy_hop or 0.05
    for i in range(steps + 1):
        start = a + slack * i / steps
        end = start + length
        mid_word = _inside_speech(speech, start) + _inside_speech(speech, end)
        loud = 0.0
        if energy and segment in ("action", "thriller", "horror"):
            lo, hi = int(start / hop), max(int(start / hop) + 1, int(end / hop))
            window = energy[lo:hi]
            loud = sum(window) / len(window) if window else 0.0
        centre = -abs((start + end) / 2 - (a + b) / 2)
        key = (-mid_word, loud, centre)
        if best_key is None or key > best_key:
            best, best_key = start, key
    return round(best, 6)


def overlap(a: CutPlan, b: CutPlan) -> float:
    """The share of source time two cuts have in common (Jaccard over their clips' source spans)."""
    def spans(p: CutPlan) -> list[tuple[float, float]]:
        return [(c.source_in, c.source_out(p.fps)) for c in p.clips]

    sa, sb = spans(a), spans(b)
    inter = sum(max(0.0, min(x1, y1) - max(x0, y0)) for x0, x1 in sa for y0, y1 in sb)
    union = sum(x1 - x0 for x0, x1 in sa) + sum(y1 - y0 for y0, y1 in sb) - inter
    return round(inter / union, 4) if union > 0 else 0.0


def plan_segments(analysis: Analysis, segments: Sequence[str], seconds: float, fps: Fraction, *,
                  max_overlap: float = 0.5, **kwargs: Any) -> dict[str, CutPlan]:
    """Cuts of one length for several segments, kept visibly apart: a segment whose cut shares more
    than ``max_overlap`` of its source time with an earlier segment's is planned again with those
    shots penalised. Deterministic: every job plans the same cuts."""
    plans: dict[str, CutPlan] = {}
    used: dict[int, float] = {}
    for segment in segments:
        plan = plan_cut(analysis, segment, seconds, fps, **kwargs)
        if plans and max(overlap(plan, other) for other in plans.values()) > max_overlap:
            plan = plan_cut(analysis, segment, seconds, fps, avoid=used, **kwargs)
        plans[segment] = plan
        for c in plan.clips:
            used[c.shot] = used.get(c.shot, 0.0) + 0.3
    return plans
