"""Trailer labels in LMTD-9's SQLite format and built-in synthetic LMTD-style trailers."""
