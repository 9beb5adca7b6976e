"""The trailer kind: per audience segment, cuts of 15/30/60 s (any length from 6 to 180 s) in
16:9 and vertical 9:16 (and 1:1), with a title card and an end slate, the source's sound (and an
optional music bed) mixed to EBU R128, and an editor's cut list (.otio and CMX 3600 .edl).

What the core sees of it (the :class:`CreativeKind` interface); the work is in its modules:
``plan.py`` (which shots, how long), ``reframe.py`` (vertical camera paths), ``audio.py`` (the
mix), ``cards.py`` (title card and end slate), ``render.py`` (the MP4), ``cutlist.py``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

from generators.audience.segments import SEGMENTS
from generators.base import (
    CreativeKind,
    Explanation,
    GenerationContext,
    KindCommand,
    Term,
    TweakSpec,
)
from generators.params import (
    Choice,
    Int,
    Internal,
    IntList,
    KindParams,
    Names,
    Number,
    Text,
    param,
)
from generators.trailers.plan import SPOILER_GUARD, CutPlan, overlap, plan_segments
from generators.trailers.reframe import faces_kept, reframe_all
from generators.trailers.render import make_rendition, output_rate, render
from generators.trailers.timeline import Card, Clip, MusicBed, Timeline
from workbench.creative import (
    EditAction,
    Ingredient,
    Output,
    OutputFile,
    Recipe,
    Rendition,
    Slot,
    SourceFrame,
)
from workbench.errors import InvalidInput

FORMATS: dict[str, tuple[int, int]] = {"16x9": (1920, 1080), "9x16": (1080, 1920), "1x1": (1080, 1080)}
DURATIONS = (15, 30, 60)
MIN_S, MAX_S = 6, 180
REVIEW_HEIGHT = 720
LOUDNESS = {"ebu_r128": -23.0, "atsc_a85": -24.0}
OTIO_MIME = "application/vnd.pixar.opentimelineio+json"
EDL_MIME = "text/plain"
SUBTITLE_MIMES = {"subtitles.srt": "application/x-subrip", "subtitles.vtt": "text/vtt", "subtitles.ttml": "application/ttml+xml"}


@dataclass(frozen=True)
class TrailerParams(KindParams):
    unknown_noun: ClassVar[str] = "trailer parameter"

    segments: tuple[str, ...] = param(tuple(SEGMENTS), Names(noun="segment", values=SEGMENTS))
    durations: tuple[int, ...] = param(DURATIONS, IntList(MIN_S, MAX_S, max_items=12))
    formats: tuple[str, ...] = param(("16x9", "9x16"), Names(noun="format", values=tuple(FORMATS)))
    pacing: str = param("build", Choice(noun="pacing", values=("build", "steady")))
    music: str | None = param(None, Text(64, label="music", min_len=64))  # sha256 of a stored music bed
    title_text: str | None = param(None, Text(100, label="title_text"))  # the title card's title (default: the title's name)
    tagline: str | None = param(None, Text(140, label="tagline"))
    call_to_action: str | None = param(None, Text(80, label="call_to_action"))
    date: str | None = param(None, Text(40, label="date"))  # shown as written on the end slate
    loudness: str = param("ebu_r128", Choice(noun="loudness standard", values=tuple(LOUDNESS)))
    subtitles: str | None = param(None, Text(64, label="subtitles", min_len=64))  # sha256 of a stored SRT/WebVTT (source time)
    strings: str | None = param(None, Text(64, label="strings", min_len=64))  # sha256 of an imported strings set: card copy per locale
    locale: str | None = param(None, Text(16, label="locale"))  # the cards' locale: its copy (with strings), font and direction
    subtitle_locale: str = param("en", Text(16, label="subtitle_locale"))  # the subtitles' language: font, direction, TTML lang
    audience: str = param("adult", Choice(noun="audience", values=("adult", "kids")))  # subtitle reading speed
    spoiler_guard: float = param(SPOILER_GUARD, Number(0, 0.5))
    seed: int = param(0, Int(0, 2**31 - 1))  # another seed: another choice among shots of near-equal score
    exclude_shots: tuple[int, ...] = param((), Internal())  # shots a reviewer dropped (regenerate)
    title_name: str = param("", Internal())

    def check_together(self) -> None:
        if self.music is not None and not all(c in "0123456789abcdef" for c in self.music):
            raise InvalidInput("music must be the sha256 of a stored music bed (see `workbench trailers --music FILE`)")
        if self.subtitles is not None and not all(c in "0123456789abcdef" for c in self.subtitles):
            raise InvalidInput("subtitles must be the sha256 of a stored subtitle file (see `workbench trailers --subtitles FILE`)")
        if self.strings is not None and not all(c in "0123456789abcdef" for c in self.strings):
            raise InvalidInput("strings must be the sha256 of an imported strings set (see `workbench strings import FILE`)")
        if self.strings is not None and self.locale is None:
            raise InvalidInput("strings needs a locale: the cards are drawn in one locale's copy")
        from babel import Locale, UnknownLocaleError

        for name in ("subtitle_locale", "locale"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                Locale.parse(value.replace("-", "_"))
            except (UnknownLocaleError, ValueError, TypeError):
                raise InvalidInput(f"unknown {name} {value!r} (e.g. en, de, ar-EG, zh-Hant)") from None


class TrailerKind(CreativeKind):
    kind: ClassVar[str] = "trailer"
    label: ClassVar[str] = "Trailer"
    version: ClassVar[str] = "1.0.0"
    Params = TrailerParams
    explain_heading: ClassVar[str] = "Why these shots"
    tweaks: ClassVar[tuple[TweakSpec, ...]] = (
        TweakSpec("drop_shot", "Drop a shot", type="int", low=0, high=10_000, help="Its number in the shot strip (1 = first)"),
        TweakSpec("swap_shot", "Swap a shot", type="int", low=0, high=10_000, help="Replaced by the next best shot"),
        TweakSpec("duration", "Length", choices=tuple((d, f"{d} s") for d in DURATIONS)),
        TweakSpec("pacing", "Pacing", choices=(("build", "build-up, peak, resolve"), ("steady", "steady"))),
        TweakSpec("seed", "Seed", type="int", low=0, high=2**31 - 1, help="Another choice among equally good shots"),
    )

    # -- parameters ---------------------------------------------------------------------------

    def fan_out(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One job per segment and length (both formats in one job: they share the plan)."""
        params = TrailerParams.from_dict(item)
        data = params.to_dict()
        for derived in ("exclude_shots", "title_name"):
            data.pop(derived)
        segments = list(dict.fromkeys(params.segments))
        durations = list(dict.fromkeys(params.durations))
        formats = [f for f in FORMATS if f in params.formats]
        return [{**data, "segments": [s], "durations": [d], "formats": formats} for s in segments for d in durations]

    def gather_inputs(self, params: TrailerParams, reader: Any) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        if params.music is not None:
            inputs["music"] = reader.stored_path(params.music, None)
        if params.subtitles is not None:
            from generators.localization.subtitles import load_subtitles

            path = reader.stored_path(params.subtitles, None)
            inputs["subtitles"] = load_subtitles(path)
        if params.strings is not None:
            from generators.localization.store import load_strings
            from generators.localization.strings import check_strings, normalize_locale
            from generators.localization.texts import source_texts, texts_for

            strings = load_strings(params.strings, reader.settings)
            code = normalize_locale(params.locale)
            if code not in strings.codes:
                raise InvalidInput(f"the strings set has no {params.locale!r}; it has {', '.join(strings.codes)}")
            inputs["copy"] = texts_for(strings, code)
            # what the reviewer reads beside each card text: its source, and the import's flags about it
            inputs["copy_source"] = source_texts(strings, code)
            flags: dict[str, list[str]] = {}
            for f in check_strings(strings).flags:
                if f.locale == code and f.field:
                    flags.setdefault(f.field, []).append(f.code)
            inputs["copy_flags"] = flags
        return inputs

    # -- generation ---------------------------------------------------------------------------

    def check_inputs(self, context: GenerationContext, params: TrailerParams) -> None:
        a = context.analysis
        if context.source_info.kind != "video" or not a.shots or a.frame_count < 2:
            raise InvalidInput(f"{context.title_name!r} is a still: a trailer needs a video title")
        longest = max(params.durations)
        if a.duration * (1 - params.spoiler_guard) < longest * 0.5:
            raise InvalidInput(
                f"{context.title_name!r} is {a.duration:.1f} s long: too short for a {longest} s trailer (with the last"
                f" {params.spoiler_guard:.0%} kept back, {a.duration * (1 - params.spoiler_guard):.1f} s of it can be used)")

    def generate(self, context: GenerationContext, params: TrailerParams) -> list[Output]:
        from generators.trailers import audio as audio_mix
        from generators.trailers import cards, cutlist

        a = context.analysis
        fps = output_rate(a.fps)
        template = cards.load_template(context.settings.brand_template)
        copy = context.inputs.get("copy") or {}  # the locale's copy from a strings set; explicit texts win
        title = params.title_text or copy.get("title") or context.title_name
        tagline = params.tagline or copy.get("tagline")
        call_to_action = params.call_to_action or copy.get("call_to_action")
        date = params.date or copy.get("date")
        music = self._music(context)
        frame_size = (a.width, a.height)
        total_frames = sum(round(d * float(fps)) for d in params.durations) * len(params.formats)
        done_frames = [0]

        def progress(done: int, total: int | None) -> None:
            # the render's frames, as the generation step's progress (a job checks for cancellation here)
            if context.on_step is not None:
                context.on_step(done_frames[0] + done, total_frames)

        outputs: list[Output] = []
        # every segment up to the last one asked for, in the table's order: each job plans the same
        # earlier cuts, so segments' cuts stay apart whichever job makes them
        table = list(SEGMENTS)
        order = table[: max(table.index(s) for s in params.segments) + 1]
        for duration in params.durations:
            plans = plan_segments(a, order, duration, fps, pacing=params.pacing, guard=params.spoiler_guard, title=title,
                                  tagline=tagline, call_to_action=call_to_action, date=date,
                                  music_beats=music.beats if music else (), exclude_shots=params.exclude_shots,
                                  seed=params.seed, card_s=(template.cards["title"].duration_s,
                                                            template.cards["end"].duration_s))
            for segment in params.segments:
                plan = plans[segment]
                others = {s: overlap(plan, p) for s, p in plans.items() if s != segment}
                for fmt in params.formats:
                    out = self._render_one(context, params, plan, fmt, fps, frame_size, template, music, others,
                                           progress, audio_mix, cards, cutlist)
                    done_frames[0] += plan_frames(plan)
                    outputs.append(out)
        return outputs

    def _music(self, context: GenerationContext) -> _Music | None:
        path = context.inputs.get("music")
        if path is None:
            return None
        from workbench.analysis.audio import decode_mono
        from workbench.analysis.rhythm import beats_of

        samples, _start = decode_mono(Path(path), 22050)
        tempo, beats, _onsets = beats_of(samples, 22050)
        return _Music(Path(path), tuple(beats), tempo)

    def _render_one(self, context: GenerationContext, params: TrailerParams, plan: CutPlan, fmt: str, fps: Fraction,
                    frame_size: tuple[int, int], template: Any, music: _Music | None, others: dict[str, float],
                    progress, audio_mix, cards, cutlist) -> Output:
        a = context.analysis
        out_size = FORMATS[fmt]
        started = time.perf_counter()
        clips = reframe_all(a, plan.clips, fps, frame_size, out_size)
        clip_iter = iter(clips)
        items = tuple(next(clip_iter) if isinstance(i, Clip) else dataclasses.replace(i, locale=params.locale)
                      for i in plan.items)
        card_flags, card_copy = self._card_copy(context, params, items, template, out_size, cards)
        timeline = Timeline(
            width=out_size[0], height=out_size[1], fps=fps, items=items, video_start=a.video_start,
            music=MusicBed(str(music.path), params.music or "") if music else None,
            speech=tuple((s.start, s.end) for s in a.audio.speech),
            loudness_lufs=LOUDNESS[params.loudness],
        )
        base = f"{plan.segment}_{fmt}_{int(round(plan.duration))}s"
        folder = context.out_dir
        wav = folder / f"{base}.wav"
        mp4 = folder / f"{base}.mp4"
        report = audio_mix.mix(timeline, context.source if a.has_audio else None, wav)
        t_audio = time.perf_counter()
        subs = self._subtitles(context, params, timeline, folder, base)
        result = render(timeline, context.source, mp4, audio=wav,
                        card_frames=lambda card, w, h: cards.card_frames(card, template, w, h, fps=fps), progress=progress,
                        overlays=subs["overlays"] if subs else ())
        t_video = time.perf_counter()
        wav.unlink(missing_ok=True)
        otio_path, edl_path = folder / f"{base}.otio", folder / f"{base}.edl"
        source_name = context.title_name
        cutlist.write_otio(timeline, otio_path, source_name=source_name, source_path=context.source,
                           source_rate=a.fps, source_duration=a.duration)
        cutlist.write_edl(timeline, edl_path, source_name=source_name, source_path=context.source,
                          source_rate=a.fps, source_duration=a.duration)
        review = folder / f"{base}_{REVIEW_HEIGHT}p.mp4"
        make_rendition(mp4, review, REVIEW_HEIGHT)
        t_done = time.perf_counter()
        clip_rows, ingredients = self._clips_and_ingredients(context, timeline, clips, frame_size, out_size, fps, template,
                                                             cards)
        recipe = Recipe(
            generator=self.kind, generator_version=self.version,
            parameters={"segment": plan.segment, "duration": int(round(plan.duration)), "format": fmt,
                        "pacing": params.pacing, "music": params.music, "title_text": params.title_text,
                        "tagline": params.tagline, "call_to_action": params.call_to_action, "date": params.date,
                        "loudness": params.loudness, "spoiler_guard": params.spoiler_guard, "seed": params.seed,
                        "exclude_shots": list(params.exclude_shots), "title_name": context.title_name,
                        "subtitles": params.subtitles, "subtitle_locale": params.subtitle_locale, "audience": params.audience,
                        "strings": params.strings, "locale": params.locale},
            source_sha256=context.source_sha256,
            details={
                "fps": f"{fps.numerator}/{fps.denominator}", "frames": timeline.frames, "size": list(out_size),
                "video_start": round(a.video_start, 6),
                "clips": clip_rows,
                "cards": [{"kind": i.kind, "frames": i.frames, "title": i.title, "tagline": i.tagline,
                           "call_to_action": i.call_to_action, "date": i.date} for i in items if isinstance(i, Card)],
                **({"copy": card_copy} if params.locale else {}),
                "usable_footage_s": plan.usable_s, "spoiler_cutoff_s": round(plan.spoiler_cutoff, 3),
                "beats_used": plan.beats_used, "overlap_with": others,
                "subtitles": None if not subs else {"sha256": params.subtitles, "locale": params.subtitle_locale,
                                                    "cues": len(subs["cues"]), "flags": subs["flags"], "burned_in": True},
                "audio": {"integrated_lufs": _r(getattr(report, "integrated_lufs", None)),
                          "true_peak_db": _r(getattr(report, "true_peak_db", None)),
                          "source_audio": bool(getattr(report, "source_audio", a.has_audio)),
                          "music": params.music, "target_lufs": LOUDNESS[params.loudness]},
                "timings_s": {"audio": round(t_audio - started, 3), "video": round(t_video - t_audio, 3),
                              "cut_lists_and_review_copy": round(t_done - t_video, 3),
                              "source_frames_decoded": result.source_frames},
            },
        )
        actions = self._actions(timeline, clips, frame_size, out_size, report)
        if subs:
            actions = (*actions, EditAction("c2pa.drawing", {"subtitles": len(subs["cues"]), "locale": params.subtitle_locale},
                                            description="the title's subtitles burned in"))
        reframed = any(c.reframe is not None for c in clips)
        return Output(
            primary=OutputFile(mp4, "video/mp4", width=out_size[0], height=out_size[1], duration=timeline.duration),
            slot=Slot(format=fmt, output="mp4", segment=plan.segment, qualifiers=(f"{int(round(plan.duration))}s",),
                      locale=params.locale),
            recipe=recipe, actions=actions, ingredients=ingredients,
            sidecars=(OutputFile(otio_path, OTIO_MIME, role="cutlist.otio"), OutputFile(edl_path, EDL_MIME, role="cutlist.edl"),
                      *(OutputFile(path, SUBTITLE_MIMES[role], role=role) for role, path in (subs["files"] if subs else {}).items())),
            renditions=(Rendition(OutputFile(review, "video/mp4", role=f"rendition.{REVIEW_HEIGHT}p",
                                             width=round(out_size[0] * REVIEW_HEIGHT / out_size[1] / 2) * 2,
                                             height=REVIEW_HEIGHT, duration=timeline.duration),
                                  (EditAction("c2pa.resized", {"to_height": REVIEW_HEIGHT}, description="review copy"),
                                   EditAction("c2pa.transcoded", {"codec": "h264", "crf": 23}))),),
            score=round(sum(c.score for c in plan.clips) / max(1, len(plan.clips)), 4),
            qa_flags=(*(() if not reframed or all(r["faces_kept_share"] is None or r["faces_kept_share"] >= 0.95
                                                  for r in clip_rows) else ("face_cut",)),
                      *sorted({f"subtitle_{fl['code']}" for fl in (subs["flags"] if subs else [])}), *card_flags),
        )

    def _card_copy(self, context: GenerationContext, params: TrailerParams, items: tuple[Any, ...], template: Any,
                   out_size: tuple[int, int], cards: Any) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
        """QA flags of the cards' text as it will be drawn (copy that does not fit its box, glyphs
        the font lacks, and the strings import's flags of copy taken from a strings set), and the
        recipe's record of each text drawn beside its source (one line per field: the title card
        and the end slate carry the same text)."""
        from generators.localization.texts import copy_record

        copy = context.inputs.get("copy") or {}
        sources = context.inputs.get("copy_source") or {}
        string_flags = context.inputs.get("copy_flags") or {}
        drawn: dict[str, str] = {}
        by_field: dict[str, list[str]] = {}
        for card in (i for i in items if isinstance(i, Card)):
            layout = cards.layout_card(card, template, *out_size)
            for f in layout.fields:
                text = cards.clean_text(getattr(card, f.name))
                drawn.setdefault(f.name, text)
                codes = by_field.setdefault(f.name, [])
                if f.truncated:
                    codes.append("overflow")
                if f.missing_glyphs:
                    codes.append("missing_glyphs")
        # a text from the strings set is a translation of the source's; one given as a parameter
        # (or the title's name) is not, and the import's flags are not about it
        from_strings = {name for name, text in drawn.items() if copy.get(name) is not None and cards.clean_text(copy[name]) == text}
        for name in from_strings:
            by_field[name] += list(string_flags.get(name, ()))
        flags = sorted({code for codes in by_field.values() for code in codes})
        record = copy_record(drawn, {k: v for k, v in sources.items() if k in from_strings}, params.locale or "", by_field)
        return tuple(flags), record

    def _subtitles(self, context: GenerationContext, params: TrailerParams, timeline: Timeline, folder: Path,
                   base: str) -> dict[str, Any] | None:
        """The title's subtitles through the cut: retimed cues, style-guide flags, the overlays
        to burn in and the SRT / WebVTT / TTML sidecars (None without subtitles)."""
        cues = context.inputs.get("subtitles")
        if not cues:
            return None
        from generators.trailers import subtitles as subs

        shown = subs.retime(cues, timeline)
        return {"cues": shown, "flags": subs.check(shown, timeline, params.audience),
                "overlays": subs.overlays(shown, timeline, params.subtitle_locale),
                "files": subs.write_sidecars(shown, folder, base, params.subtitle_locale)}

    def _clips_and_ingredients(self, context: GenerationContext, timeline: Timeline, clips: list[Clip],
                               frame_size: tuple[int, int], out_size: tuple[int, int], fps: Fraction, template: Any,
                               cards: Any):
        from workbench.media.frames import encode_source_frame, read_frames_at

        a = context.analysis
        times = [c.source_in for c in clips]
        stills = read_frames_at(context.source, times, a.video_start)
        record = timeline.record_starts()
        starts = {id(item): start for item, start in zip(timeline.items, record)}
        rows, ingredients = [], []
        for n, c in enumerate(clips, 1):
            kept, seen = faces_kept(a, c, c.reframe, fps, frame_size, out_size) if c.reframe else (0, 0)
            rows.append({
                "n": n, "shot": c.shot, "source_in": round(c.source_in, 4), "source_out": round(c.source_out(fps), 4),
                "frames": c.frames, "record_in": round(starts.get(id(c), 0) / float(fps), 4), "why": c.why,
                "score": c.score, "reframe": None if c.reframe is None else {"mode": c.reframe.mode, "reason": c.reframe.reason,
                                                                             "keys": len(c.reframe.path)},
                "faces_kept_share": round(kept / seen, 4) if seen else None,
            })
            frame = SourceFrame(int(round(c.source_in * (a.fps or 25))), c.source_in, encode_source_frame(stills[c.source_in]))
            ingredients.append(Ingredient.from_source_frame(frame, context.title_name, context.source_sha256,
                                                            relationship="parentOf" if n == 1 else "componentOf"))
        # the cards are placed pictures too: each is an ingredient (a still of it as drawn), so the
        # manifest's c2pa.placed names it
        for card in (i for i in timeline.items if isinstance(i, Card)):
            ingredients.append(Ingredient(title="title card" if card.kind == "title" else "end slate", mime="image/jpeg",
                                          data=_card_still(cards.render_card(card, template, *out_size)),
                                          relationship="componentOf"))
        if context.inputs.get("music") is not None:
            path = Path(context.inputs["music"])
            mime = {".mp3": "audio/mpeg", ".wav": "audio/wav"}.get(path.suffix.lower())
            if mime:
                ingredients.append(Ingredient(title=f"music bed {path.name[:12]}", mime=mime, data=path.read_bytes(),
                                              relationship="componentOf"))
        return rows, tuple(ingredients)

    def _actions(self, timeline: Timeline, clips: list[Clip], frame_size: tuple[int, int], out_size: tuple[int, int],
                 report: Any) -> tuple[EditAction, ...]:
        actions = [EditAction("c2pa.edited", {"clips": len(clips), "frames": timeline.frames},
                              description=f"{len(clips)} shots of the title cut together")]
        if any(c.reframe is not None for c in clips):
            modes = sorted({c.reframe.mode for c in clips if c.reframe is not None})
            actions.append(EditAction("c2pa.cropped", {"to": list(out_size), "modes": modes},
                                      description="reframed for the output's aspect"))
        if frame_size != out_size:
            actions.append(EditAction("c2pa.resized", {"from": list(frame_size), "to": list(out_size),
                                                       "upscaled": out_size[1] > frame_size[1] or out_size[0] > frame_size[0]}))
        actions.append(EditAction("c2pa.edited", {"loudness_lufs": timeline.loudness_lufs, "true_peak_db": timeline.true_peak_db},
                                  description="sound mixed with crossfades and normalised (EBU R128)"))
        return tuple(actions)

    # -- review -------------------------------------------------------------------------------

    def explain(self, recipe: Mapping[str, Any], score: float | None = None) -> Explanation:
        from generators.localization.texts import copy_lines

        d = recipe.get("details") or {}
        p = recipe.get("parameters") or {}
        clips = [c for c in d.get("clips") or [] if isinstance(c, dict)]
        audio = d.get("audio") or {}
        facts = [("Shots", f"{len(clips)} from the title, in story order"),
                 ("Pacing", str(p.get("pacing", "build"))),
                 ("Spoiler guard", f"nothing after {d.get('spoiler_cutoff_s', '?')} s")]
        if audio.get("integrated_lufs") is not None:
            facts.append(("Sound", f"{audio['integrated_lufs']} LUFS, true peak {audio.get('true_peak_db')} dBTP"
                          + ("" if audio.get("source_audio", True) else " (the title has no sound: a silent bed)")))
        if d.get("overlap_with"):
            facts.append(("Differs from", ", ".join(f"{s} ({1 - v:.0%} different)" for s, v in sorted(d["overlap_with"].items()))))
        terms = tuple(Term(f"shot {c.get('n')} (source {c.get('source_in')}-{c.get('source_out')} s)",
                           float(c.get("score") or 0.0)) for c in clips)
        return Explanation(
            heading=self.explain_heading,
            summary=f"{p.get('duration')} s {p.get('format')} cut for {p.get('segment')}: {len(clips)} shots",
            generator=f"{recipe.get('generator')} {recipe.get('generator_version')}", score=score, terms=terms,
            facts=tuple(facts), model=recipe.get("model"), seed=recipe.get("seed"),
            details={"clips": clips, "cards": d.get("cards"), "audio": audio, "fps": d.get("fps")},
            copy=copy_lines(d.get("copy")),  # none before cards recorded it, or on cards in no locale
        )

    def apply_tweak(self, recipe: Mapping[str, Any], tweak: Mapping[str, Any]) -> TrailerParams:
        """Drop or swap a shot (by its number in the shot strip), another length, pacing or seed."""
        known = {t.name for t in self.tweaks}
        unknown = sorted(set(tweak) - known)
        if unknown:
            raise InvalidInput(f"unknown tweak(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        p = dict(recipe.get("parameters") or {})
        clips = (recipe.get("details") or {}).get("clips") or []
        exclude = list(p.get("exclude_shots") or [])
        for name in ("drop_shot", "swap_shot"):
            if tweak.get(name) is not None:
                n = tweak[name]
                if not isinstance(n, int) or not 1 <= n <= len(clips):
                    raise InvalidInput(f"{name}: give a shot number from 1 to {len(clips)}")
                exclude.append(int(clips[n - 1]["shot"]))
        duration = tweak.get("duration", p.get("duration"))
        params = TrailerParams(
            segments=(p["segment"],), durations=(int(duration),), formats=(p["format"],),
            pacing=tweak.get("pacing", p.get("pacing", "build")), music=p.get("music"), title_text=p.get("title_text"),
            tagline=p.get("tagline"), call_to_action=p.get("call_to_action"), date=p.get("date"),
            loudness=p.get("loudness", "ebu_r128"), spoiler_guard=float(p.get("spoiler_guard", SPOILER_GUARD)),
            subtitles=p.get("subtitles"), subtitle_locale=p.get("subtitle_locale", "en"), audience=p.get("audience", "adult"),
            strings=p.get("strings"), locale=p.get("locale"),
            seed=int(tweak.get("seed", p.get("seed", 0))), exclude_shots=tuple(dict.fromkeys(exclude)),
        )
        return params

    def regenerate_params(self, params: TrailerParams) -> dict[str, Any]:
        data = params.to_dict()
        data.pop("title_name", None)
        return data

    # -- export ---------------------------------------------------------------------------------

    def deliveries(self, approved: Any) -> list[Any]:
        """The approved MP4, re-encoded renditions (re-signed), the .otio and .edl."""
        from workbench.deliveries.video import video_deliveries

        return video_deliveries(approved, self.export_folder)

    def cli_commands(self) -> list[KindCommand]:
        from generators.trailers.cli import trailers

        return [KindCommand("trailers", trailers)]


@dataclass(frozen=True)
class _Music:
    path: Path
    beats: tuple[float, ...]
    tempo: float | None


def plan_frames(plan: CutPlan) -> int:
    return sum(i.frames for i in plan.items)


def _r(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


__all__ = ["FORMATS", "TrailerKind", "TrailerParams"]


def _card_still(rgb: Any, height: int = 360) -> bytes:
    """A card as a small JPEG, for its ingredient (the manifest carries it)."""
    import io

    from PIL import Image

    im = Image.fromarray(rgb)
    im = im.resize((max(2, round(im.width * height / im.height)), height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()
