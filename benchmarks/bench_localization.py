"""Localized key art: 40 locales x 3 placements of one title through the one generate path
(shaping, fitting, contrast, encode, sign, store, catalog), with where the time goes.

    python benchmarks/bench_localization.py [--runs 3]

Baseline in the same run: a plain Pillow JPEG encode (quality 92) of the same number of frames at
the same sizes. Each run makes every variant anew (the strings differ per run in one character,
so no recipe is reused). The workflow runs in this process; its signing uses a thread pool.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.common import bench_title, machine  # noqa: E402

# One line of copy per script family; Latin-script locales share the Latin copy (flagged
# "untranslated": the flag costs the same as any other).
COPY = {
    "latin": ("The Long Night", "Some doors should stay closed, even on the longest night", "Watch now", "From {date}"),
    "de": ("Die lange Nacht", "Manche Türen sollten für immer verschlossen bleiben", "Jetzt ansehen", "Ab {date}"),
    "ru": ("Долгая ночь", "Некоторые двери лучше не открывать", "Смотреть", "С {date}"),
    "uk": ("Довга ніч", "Деякі двері краще не відчиняти", "Дивитися", "З {date}"),
    "el": ("Η μεγάλη νύχτα", "Κάποιες πόρτες πρέπει να μένουν κλειστές", "Δείτε τώρα", "Από {date}"),
    "ar": ("الليلة الطويلة", "بعض الأبواب يجب أن تبقى مغلقة", "شاهد الآن", "ابتداءً من {date}"),
    "he": ("הלילה הארוך", "יש דלתות שעדיף להשאיר סגורות", "צפו עכשיו", "החל מ-{date}"),
    "fa": ("شب طولانی", "بعضی درها باید بسته بمانند", "همین حالا ببینید", "از {date}"),
    "hi": ("लंबी रात", "कुछ दरवाज़े बंद ही रहने चाहिए", "अभी देखें", "{date} से"),
    "bn": ("দীর্ঘ রাত", "কিছু দরজা বন্ধই থাকা উচিত", "এখনই দেখুন", "{date} থেকে"),
    "ta": ("நீண்ட இரவு", "சில கதவுகள் மூடியே இருக்க வேண்டும்", "இப்போது பாருங்கள்", "{date} முதல்"),
    "te": ("సుదీర్ఘ రాత్రి", "కొన్ని తలుపులు మూసే ఉండాలి", "ఇప్పుడే చూడండి", "{date} నుండి"),
    "th": ("คืนอันยาวนาน", "ประตูบางบานควรปิดไว้ตลอดไป", "รับชมเลย", "ตั้งแต่ {date}"),
    "ja": ("長い夜", "開けてはならない扉がある", "今すぐ視聴", "{date}より"),
    "ko": ("긴 밤", "어떤 문은 닫혀 있어야 한다", "지금 시청하기", "{date}부터"),
    "zh-Hans": ("漫漫长夜", "有些门永远不该打开", "立即观看", "{date}起"),
    "zh-Hant": ("漫漫長夜", "有些門永遠不該打開", "立即觀看", "{date}起"),
}
LOCALES = {
    "de": "de", "de-AT": "de", "de-CH": "de", "ru": "ru", "uk": "uk", "el": "el", "ar-EG": "ar", "ar-SA": "ar", "he": "he",
    "fa": "fa", "hi": "hi", "bn": "bn", "ta": "ta", "te": "te", "th": "th", "ja": "ja", "ko": "ko", "zh-Hans": "zh-Hans",
    "zh-Hant": "zh-Hant", **{code: "latin" for code in (
        "fr", "fr-CA", "es", "es-419", "es-MX", "pt-BR", "pt-PT", "it", "nl", "sv", "da", "nb", "fi", "pl", "cs", "tr",
        "vi", "id", "ro", "hu", "en-GB")},
}
FORMATS = {"16x9": (1920, 1080), "2x3": (1000, 1500), "1x1": (1080, 1080)}


def strings_file(folder: Path, run: int) -> Path:
    locales = {"en": {"title": "The Long Night", "tagline": "Some doors should stay closed", "call_to_action": "Watch now",
                      "date": "2026-12-12", "legal": f"© 2026 Example Studio ({run})"}}
    for code, family in LOCALES.items():
        title, tagline, cta, date = COPY[family]
        locales[code] = {"title": title, "tagline": tagline, "call_to_action": cta, "date": date,
                         "legal": f"© 2026 Example Studio ({run})"}
    path = folder / f"strings-{run}.json"
    path.write_text(json.dumps({"source_locale": "en", "locales": locales}, ensure_ascii=False), "utf-8")
    return path


def plain_encodes(n: int) -> float:
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for w, h in FORMATS.values()]
    t = time.perf_counter()
    for i in range(n):
        frames[i % len(frames)].save(io.BytesIO(), "JPEG", quality=92)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from generators.localization.store import import_strings
    from workbench import workflow
    from workbench.settings import Settings

    print(f"machine: {machine()}")
    source = bench_title(1080, 20)
    n = (len(LOCALES) + 1) * len(FORMATS)  # and the source locale (en)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home")
        title = workflow.ingest(source, "Bench", settings=settings).title_id
        workflow.analyze_title(title, settings=settings)
        walls, renders, signs, plains = [], [], [], []
        for run in range(args.runs):
            sha, _ = import_strings(strings_file(Path(tmp), run), settings)
            t = time.perf_counter()
            result = workflow.generate("localized", title, {"strings": sha, "formats": list(FORMATS)}, settings=settings)
            walls.append(time.perf_counter() - t)
            assert len(result.variants) == n and not any(v.reused for v in result.variants), len(result.variants)
            renders.append(sum(v.render_ms for v in result.variants) / 1000)
            signs.append(sum(v.sign_ms for v in result.variants) / 1000)
            plains.append(plain_encodes(n))
        wall, plain = statistics.median(walls), statistics.median(plains)
        print(f"{len(LOCALES) + 1} locales x {len(FORMATS)} placements = {n} key-art variants: {wall:.2f} s = "
              f"{n / wall:.1f} renders/s (target >= 8/s); runs " + ", ".join(f"{w:.2f}" for w in walls))
        print(f"  where it goes (medians): render (frame, crop, shaping, fit, contrast, encode) "
              f"{statistics.median(renders):.2f} s, signing {statistics.median(signs):.2f} s, "
              f"analysis lookup + store + catalog {wall - statistics.median(renders) - statistics.median(signs):.2f} s")
        print(f"baseline, {n} plain Pillow JPEG encodes at the same sizes: {plain:.2f} s; "
              f"variants / plain encodes: {wall / plain:.1f}x")


if __name__ == "__main__":
    main()
