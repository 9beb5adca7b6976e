"""Localized promos: translated strings in (:mod:`.strings`, :mod:`.store`), a Noto font per script
with a glyph check (:mod:`.fonts`), shaping-aware fitting into a safe box (:mod:`.fit`), contrast
measured on pixels (:mod:`.contrast`), CLDR dates (:mod:`.dates`), subtitles (:mod:`.subtitles`),
behind the kind interface (:mod:`.kind`)."""
