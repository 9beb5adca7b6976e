"""Personalized trailer cuts: shot choice and pacing (:mod:`.plan`), vertical reframing
(:mod:`.reframe`), the sound (:mod:`.audio`), cards (:mod:`.cards`), the MP4 (:mod:`.render`) and
the editor's cut lists (:mod:`.cutlist`), behind the kind interface (:mod:`.kind`)."""
