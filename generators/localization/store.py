"""Imported strings sets, stored and catalogued by content hash like any asset.

A strings file (each file of a folder) is copied into the store's private staging area, the copy
is parsed and checked (what is stored is what was checked), and the **normalised** JSON document of the set (sorted,
UTF-8, one form whatever the input format) is stored: two files that say the same thing are the
same asset, and a corrected translation is a new one. Refused files leave nothing behind.
"""

from __future__ import annotations

import json
from pathlib import Path

from generators.localization.strings import (
    StringsReport,
    StringsSet,
    check_strings,
    merge_sets,
    parse_strings,
    strings_files,
)
from workbench.errors import InvalidInput
from workbench.settings import Settings, get_settings
from workbench.store import AssetStore, check_sha256

STRINGS_MIME = "application/json"
STRINGS_EXT = ".json"
# The catalog's asset kinds are a closed set (video, image, audio, document): strings sets are
# documents until the core adds a "strings" kind (see the integration notes).
ASSET_KIND = "document"


def normalised_bytes(strings: StringsSet) -> bytes:
    return json.dumps(strings.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def import_strings(path: Path | str, settings: Settings | None = None) -> tuple[str, StringsReport]:
    """Check and store a strings file, or a folder of them merged into one set; (sha256 of the
    stored set, what was found per locale)."""
    from workbench.catalog import open_catalog, repo

    settings = settings or get_settings()
    path = Path(path)
    parse_strings(path)  # 1. cheap refusals (size, format, hostile XML, disagreeing files) before any copy
    store = AssetStore(settings.store_dir)
    if path.is_dir():
        parts = []
        for file in strings_files(path):
            with store.staged(file) as staged:  # 2. check the very bytes that were copied
                parts.append((file.name, _parse_staged(staged.path, file)))
        strings = merge_sets(parts, path.name)
    else:
        with store.staged(path) as staged:
            strings = _parse_staged(staged.path, path)
    report = check_strings(strings, file=path.name)
    data = normalised_bytes(strings)
    stored = store.put_bytes(data, STRINGS_EXT)  # 3. the normalised document, by its hash
    with open_catalog(settings).session() as session:
        repo.add_asset_if_absent(session, sha256=stored.sha256, kind=ASSET_KIND, mime=STRINGS_MIME, ext=STRINGS_EXT,
                                 size_bytes=stored.size, original_name=path.name)
    return stored.sha256, report


def _parse_staged(staged: Path, original: Path) -> StringsSet:
    from generators.localization.strings import SUFFIXES, parse_strings_bytes

    with open(staged, "rb") as f:
        data = f.read()
    return parse_strings_bytes(data, SUFFIXES[original.suffix.lower()], name=original.name)


def load_strings(sha256: str, settings: Settings | None = None) -> StringsSet:
    """A stored strings set by its sha256 (NotFound when it is not stored)."""
    settings = settings or get_settings()
    check_sha256(sha256)
    return read_stored_strings(AssetStore(settings.store_dir).resolve(sha256, STRINGS_EXT), sha256)


def read_stored_strings(path: Path, sha256: str = "") -> StringsSet:
    """A stored (normalised) strings document, read from its path in the store."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"strings set {sha256[:12]} is unreadable ({exc})") from None
    return StringsSet.from_dict(doc)


SUBTITLE_MIMES = {".srt": "application/x-subrip", ".vtt": "text/vtt"}


def store_subtitles(path: Path | str, settings: Settings | None = None) -> str:
    """Check a subtitle file (SRT or WebVTT: readable, bounded) and store it by content hash; the
    sha256 a trailer's ``subtitles`` parameter names."""
    from generators.localization.subtitles import load_subtitles
    from workbench.catalog import open_catalog, repo

    settings = settings or get_settings()
    path = Path(path)
    load_subtitles(path)  # cheap refusals before the copy
    ext = path.suffix.lower()
    store = AssetStore(settings.store_dir)
    with store.staged(path) as staged:
        probe = staged.path.with_name(staged.path.name + ext)  # what is checked is what is stored
        probe.symlink_to(staged.path)
        try:
            cues = load_subtitles(probe)
        finally:
            probe.unlink()
        if not cues:
            raise InvalidInput(f"{path.name}: no cues")
        stored = staged.commit()
    with open_catalog(settings).session() as session:
        repo.add_asset_if_absent(session, sha256=stored.sha256, kind=ASSET_KIND, mime=SUBTITLE_MIMES[ext], ext=ext,
                                 size_bytes=stored.size, original_name=path.name)
    return stored.sha256
