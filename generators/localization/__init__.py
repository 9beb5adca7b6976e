"""Localized promos: translated strings in (:mod:`.strings`, :mod:`.store`), a Noto font per script
with a glyph check (:mod:`.fonts`), shaping-aware fitting into a safe box (:mod:`.fit`), contrast
measured on pixels (:mod:`.contrast`), the key-art text block (:mod:`.keyart`), CLDR dates
(:mod:`.dates`), each text beside its source (:mod:`.texts`), subtitles (:mod:`.subtitles`),
behind the kind interface (:mod:`.kind`)."""
