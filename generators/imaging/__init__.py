"""Imaging every kind shares: crop planning and cutting (:mod:`.crop`), still encoding
(:mod:`.encode`). Kinds import from here, never from each other."""
