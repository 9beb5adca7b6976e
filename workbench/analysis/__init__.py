"""Scene recognition: one decoding pass gives shots, keyframes and their features."""
