"""Audience segments, shared by every kind that personalizes: the one table of what each segment
likes in a frame (:mod:`.segments`) and the explainable score of a keyframe for a segment
(:mod:`.scoring`). Thumbnails pick frames with it, trailers pick shots."""
