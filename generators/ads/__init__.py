"""Ads: contextual pause ads and shoppable overlays, delivered as IAB VAST 4.2 and hotspot JSON.

Modules: ``products`` (the catalog, checked), ``store`` (imported by content hash), ``vast``
(VAST 4.2 build, checks and the shipped IAB schema), ``qr`` (codes and tracking URLs), ``mood``,
``scene``, ``safety``, ``moments``, ``match`` and ``embed`` (affinity table and sentence
embeddings), ``pause`` (the still), ``panel_text`` (its localized words), ``backdrop`` (the frame
extended by a diffusion model), ``overlay`` (a shoppable card), ``simid`` (the interactive
layer), ``mezzanine`` (a spot's master for stitchers), ``inspection`` (QR codes read back for
review), ``kind`` (:class:`PauseAdKind`), ``shoppable`` (:class:`ShoppableKind`), ``spot`` and
``breaks``."""

from generators.ads.kind import PauseAdKind, PauseAdParams
from generators.ads.shoppable import ShoppableKind, ShoppableParams

__all__ = ["PauseAdKind", "PauseAdParams", "ShoppableKind", "ShoppableParams"]
