"""Per-trailer feature extraction: which instants to sample, decoding with PyAV, the audio vector.

Kept free of Keras so the decoding and audio parts import fast in worker processes.
"""
