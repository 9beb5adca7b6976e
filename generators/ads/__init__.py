"""Ads: contextual pause ads and shoppable overlays, delivered as IAB VAST 4.2 and hotspot JSON.

Modules: ``products`` (the catalog, checked), ``store`` (imported by content hash), ``vast``
(VAST 4.2 build and checks), ``qr`` (codes and tracking URLs), ``mood``, ``scene``, ``safety``,
``moments``, ``match``, ``pause`` (the still), ``overlay`` (a shoppable card), ``kind`` (:class:`PauseAdKind`) and
``shoppable`` (:class:`ShoppableKind`)."""

from generators.ads.kind import PauseAdKind, PauseAdParams
from generators.ads.shoppable import ShoppableKind, ShoppableParams

__all__ = ["PauseAdKind", "PauseAdParams", "ShoppableKind", "ShoppableParams"]
