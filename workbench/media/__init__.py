"""Media probing and frame IO (PyAV for probing and decoding, ffmpeg from imageio-ffmpeg for encoding)."""
