"""``workbench trailers TITLE``: the trailer kind's friendly command, as the options that build its
parameters (the CLI adds TITLE and --json; the generic command is
``workbench generate trailer TITLE --set ...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from generators.trailers.kind import TrailerParams


def trailers(
    segments: Annotated[str | None, typer.Option(help="Comma-separated audience segments (default: all).")] = None,
    durations: Annotated[str | None, typer.Option(help="Comma-separated lengths in seconds, 6-180 (default: 15,30,60).")] = None,
    formats: Annotated[str | None, typer.Option(help="Comma-separated formats: 16x9, 9x16, 1x1 (default: 16x9,9x16).")] = None,
    music: Annotated[Path | None, typer.Option(help="A music bed (mp3, wav, m4a, flac, ogg): edits land on its beats, ducked under speech.")] = None,
    pacing: Annotated[str, typer.Option(help="build (shorter shots towards the peak) or steady.")] = "build",
    tagline: Annotated[str | None, typer.Option(help="The tagline on the title card and end slate.")] = None,
    call_to_action: Annotated[str | None, typer.Option("--cta", help="The end slate's call to action.")] = None,
    date: Annotated[str | None, typer.Option(help="The release date, as the end slate shows it.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="The title card's title (default: the title's name).")] = None,
    seed: Annotated[int, typer.Option(help="Another choice among shots of near-equal score.")] = 0,
    subtitles: Annotated[Path | None, typer.Option(help="The title's subtitles (SRT or WebVTT, title time): burned in and written as SRT, WebVTT and TTML.")] = None,
    subtitle_locale: Annotated[str, typer.Option(help="The subtitles' language (font, direction), e.g. de, ar-EG, ja.")] = "en",
    strings: Annotated[str | None, typer.Option(help="A strings file (or the sha256 of one imported): the cards' copy in --locale.")] = None,
    locale: Annotated[str | None, typer.Option(help="The cards' locale: its copy (with --strings), font and direction.")] = None,
) -> TrailerParams:
    """Personalized trailer cuts per audience segment and length, 16:9 and vertical 9:16, with cut lists."""
    from generators.params import IntList
    from workbench.music import store_music

    kwargs: dict = {"pacing": pacing, "tagline": tagline, "call_to_action": call_to_action, "date": date,
                    "title_text": text, "seed": seed, "subtitle_locale": subtitle_locale, "locale": locale}
    if segments:
        kwargs["segments"] = tuple(s.strip() for s in segments.split(",") if s.strip())
    if durations:
        kwargs["durations"] = IntList(6, 180).from_text("durations", durations)
    if formats:
        kwargs["formats"] = tuple(s.strip() for s in formats.split(",") if s.strip())
    params = TrailerParams(**kwargs)
    params.check()  # before the music bed is read or stored
    if music is not None:
        kwargs["music"] = store_music(music).sha256
    if subtitles is not None:
        from generators.localization.store import store_subtitles

        kwargs["subtitles"] = store_subtitles(subtitles)
    if strings is not None:
        from generators.localization.cli import strings_reference

        kwargs["strings"] = strings_reference(strings)
    return TrailerParams(**kwargs)
