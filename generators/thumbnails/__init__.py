"""Personalized thumbnails: segment scoring, diverse selection, smart crop and rendering
(:mod:`.generator`), behind the kind interface (:mod:`.kind`)."""
