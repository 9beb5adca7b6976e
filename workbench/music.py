"""Music beds: audio files a trailer (or spot) may be cut to, stored and catalogued like any
asset, by content hash. A music bed is checked (it is the audio its name says, it decodes to the
end) before a byte of it is stored, and is referred to by its sha256 afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.catalog import open_catalog, repo
from workbench.media.probe import MediaInfo, probe_audio
from workbench.settings import Settings, get_settings
from workbench.store import AssetStore


@dataclass(frozen=True)
class StoredMusic:
    sha256: str
    path: Path
    info: MediaInfo


def store_music(path: Path, *, settings: Settings | None = None) -> StoredMusic:
    """Check, store and catalogue a music bed; the same file twice is the same asset."""
    settings = settings or get_settings()
    path = Path(path)
    store = AssetStore(settings.store_dir)
    probe_audio(path, settings)  # cheap refusals before the copy
    with store.staged(path) as staged:
        info = probe_audio(staged.path, settings, name=path.name, ext=path.suffix)  # what is stored is what was checked
        stored = staged.commit()
    with open_catalog(settings).session() as session:
        repo.add_asset_if_absent(session, sha256=stored.sha256, kind="audio", mime=info.mime, ext=info.ext,
                                 size_bytes=info.size_bytes, duration_s=info.duration, audio_codec=info.audio_codec,
                                 has_audio=True, original_name=path.name)
    return StoredMusic(stored.sha256, stored.path, info)
