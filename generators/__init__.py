"""Creative kinds: each is a folder under ``generators/`` behind :class:`generators.base.CreativeKind`,
and one line in :data:`KINDS` below. The core asks only this registry.

Kinds from outside this package (a studio's own, or a test's) are registered with
:func:`register_kind`, or named in ``WORKBENCH_PLUGINS`` (comma-separated modules, imported on
first use of the registry: a worker process registers them as the submitting process does).
"""

from __future__ import annotations

import importlib
import os

from generators.ads.kind import PauseAdKind
from generators.ads.shoppable import ShoppableKind
from generators.ads.spot import SpotKind
from generators.base import CreativeKind, PluginError
from generators.localization.kind import LocalizationKind
from generators.thumbnails.kind import ThumbnailKind
from generators.trailers.kind import TrailerKind

KINDS: dict[str, CreativeKind] = {k.kind: k for k in (
    ThumbnailKind(),
    TrailerKind(),
    LocalizationKind(),
    PauseAdKind(),
    ShoppableKind(),
    SpotKind(),
)}

_plugins_loaded = False


def register_kind(kind: CreativeKind) -> CreativeKind:
    """Add a kind (an instance) to the registry; a second kind of the same name is refused."""
    if not isinstance(kind, CreativeKind):
        raise PluginError(f"{kind!r} is not a CreativeKind")
    existing = KINDS.get(kind.kind)
    if existing is not None and type(existing) is not type(kind):
        raise PluginError(f"two kinds are called {kind.kind!r}: {type(existing).__name__} and {type(kind).__name__}")
    KINDS[kind.kind] = kind
    return kind


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for name in filter(None, (m.strip() for m in os.environ.get("WORKBENCH_PLUGINS", "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise PluginError(f"WORKBENCH_PLUGINS names {name!r}, which does not import: {exc}") from None


def get_kind(name: str) -> CreativeKind:
    """The registered kind called ``name``; InvalidInput naming the known ones otherwise."""
    _load_plugins()
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise PluginError(f"unknown creative kind {name!r}; known: {', '.join(sorted(KINDS))}") from None


def kinds() -> dict[str, CreativeKind]:
    """Every registered kind, by name."""
    _load_plugins()
    return dict(KINDS)


__all__ = ["KINDS", "CreativeKind", "get_kind", "kinds", "register_kind"]
