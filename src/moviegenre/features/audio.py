"""The 140-value audio vector of docs/method.md: pooled MFCC deltas, pooled MFCCs, LPC.

Two poolings of the MFCC matrix M [13, T], with n = T // 5 and only the first
5 * n frames kept:

- ``"seed"`` (what the seed computes, the default; STFT padded in ``reflect`` mode as
  librosa 0.6 did): reshape to [13, n, 5] and average over axis 1, i.e. position p
  averages the frames whose index is p modulo 5. The 5 values per coefficient are
  therefore nearly equal. The delta is
  ``librosa.feature.delta(R, width=(n // 2) * 2 - 1, axis=1, order=1)`` on that
  [13, n, 5] array (one wide Savitzky-Golay slope per residue class), then the same mean.
- ``"segments"`` (the likely intent): 5 contiguous time segments. The delta is
  librosa's ordinary local delta along time (default width 9) of the kept [13, 5n]
  frames, then each segment is averaged the same way as the MFCCs, so it is the mean
  local slope of each coefficient within each fifth of the clip.

Both need n >= 4 (librosa's delta takes an odd width >= 3 no wider than the axis):
T >= 20 MFCC frames, i.e. at least 19 * 512 = 9,728 samples, about 0.44 s at
22,050 Hz. Shorter input raises ValueError (the caller reports ``too_short``).
"""

from __future__ import annotations

import librosa
import numpy as np
import pysptk

from moviegenre.features.audio_layout import AUDIO_DIM, N_POSITIONS, audio_feature_names

__all__ = ["AUDIO_DIM", "audio_feature_names", "audio_vector", "is_silent", "lpc_coefficients"]

POOLINGS = ("seed", "segments")
#: STFT padding of the MFCC frames per pooling: the seed's librosa 0.6 padded in
#: ``reflect`` mode; librosa 0.10+ defaults to ``constant`` (zeros), which moves the
#: edge frames (delta by up to 6e-3, MFCC by up to 0.24 on the test trailers)
STFT_PAD_MODE = {"seed": "reflect", "segments": "constant"}
#: librosa's MFCC hop length (default) used to state the minimum duration
HOP_LENGTH = 512
MIN_POOLED_FRAMES = 4


def is_silent(y: np.ndarray, threshold: float = 1e-4) -> bool:
    """True when the peak amplitude is at most ``threshold`` (~ -80 dBFS) or ``y`` is empty.

    A silent track still gets a finite vector (LPC zeros); this lets the caller flag it.
    """
    y = np.asarray(y)
    if y.size == 0:
        return True
    return bool(np.max(np.abs(y)) <= threshold)


def lpc_coefficients(y: np.ndarray, order: int = 9) -> np.ndarray:
    """``pysptk.sptk.lpc`` over the whole signal, float64 [order + 1] (gain first).

    The autocorrelation of an all-zero (or degenerate) signal is singular and pysptk
    raises; such a signal gets all zeros (gain 0) instead of an error or NaN.
    """
    x = np.ascontiguousarray(y, dtype=np.float64)
    if x.size <= order or not np.any(x):
        return np.zeros(order + 1, dtype=np.float64)
    try:
        a = np.asarray(pysptk.sptk.lpc(x, order=order), dtype=np.float64)
    except (np.linalg.LinAlgError, RuntimeError, ValueError, FloatingPointError):
        return np.zeros(order + 1, dtype=np.float64)
    if a.shape != (order + 1,) or not np.all(np.isfinite(a)):
        return np.zeros(order + 1, dtype=np.float64)
    return a


#: librosa's STFT defaults, which ``librosa.feature.mfcc`` uses
N_FFT = 2048
#: STFT frames computed at a time by :func:`mfcc_by_blocks` (about 8 MB of complex values)
BLOCK_FRAMES = 1024


def _padded_span(y: np.ndarray, start: int, stop: int, pad_mode: str) -> np.ndarray:
    """``y`` padded by N_FFT // 2 on both sides (``pad_mode``), samples [start, stop) of it
    in ``y``'s own indices; only an edge block pads, with enough of ``y`` for a reflection."""
    if start >= 0 and stop <= y.size:
        return y[start:stop]
    half = N_FFT // 2
    lo = max(min(start, y.size - N_FFT - 1), 0)
    hi = min(max(stop, N_FFT + 1), y.size)
    left, right = (half if lo == 0 else 0), (half if hi == y.size else 0)
    padded = np.pad(y[lo:hi], (left, right), mode=pad_mode)
    return padded[start - (lo - left) : stop - (lo - left)]


def mfcc_by_blocks(y: np.ndarray, sr: int, n_mfcc: int, pad_mode: str) -> np.ndarray:
    """``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc, pad_mode=pad_mode)``, value for value,
    without its full complex STFT in memory.

    librosa holds the complex STFT of the whole signal (8 bytes x 1,025 bins per 512
    samples: 210 MB for 10 minutes) and its magnitude at once. Here the STFT is taken
    :data:`BLOCK_FRAMES` frames at a time (each frame is the same window of the same
    padded signal, transformed on its own) and only its power is kept, then the mel
    projection, dB and DCT run on the whole power matrix as librosa runs them: the same
    numbers (tests/test_audio_features.py), for about half the memory.
    """
    import librosa

    hop = HOP_LENGTH
    half = N_FFT // 2
    n_frames = 1 + y.size // hop
    power = np.empty((1 + N_FFT // 2, n_frames), dtype=np.float32)
    for first in range(0, n_frames, BLOCK_FRAMES):
        last = min(first + BLOCK_FRAMES, n_frames)
        span = _padded_span(y, first * hop - half, (last - 1) * hop + half, pad_mode)
        stft = librosa.stft(span, n_fft=N_FFT, hop_length=hop, center=False)
        power[:, first:last] = np.abs(stft) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=sr)
    del power
    return librosa.feature.mfcc(S=librosa.power_to_db(mel), sr=sr, n_mfcc=n_mfcc)


def _pooled(mfcc: np.ndarray, pooling: str) -> tuple[np.ndarray, np.ndarray]:
    """(delta means, MFCC means), each [n_mfcc, 5]."""
    n_mfcc, n_frames = mfcc.shape
    n = n_frames // N_POSITIONS
    if n < MIN_POOLED_FRAMES:
        raise ValueError(
            f"audio too short: {n_frames} MFCC frames, need at least "
            f"{MIN_POOLED_FRAMES * N_POSITIONS} (about {MIN_POOLED_FRAMES * N_POSITIONS - 1} "
            f"hops of {HOP_LENGTH} samples)"
        )
    kept = mfcc[:, : n * N_POSITIONS]
    if pooling == "seed":
        r = kept.reshape(n_mfcc, n, N_POSITIONS)
        width = (n // 2) * 2 - 1
        delta = librosa.feature.delta(r, width=width, axis=1, order=1)
        return delta.mean(axis=1), r.mean(axis=1)
    if pooling == "segments":
        delta = librosa.feature.delta(kept, axis=1, order=1)  # width 9 <= 5n since n >= 4
        segments = kept.reshape(n_mfcc, N_POSITIONS, n)
        delta_segments = delta.reshape(n_mfcc, N_POSITIONS, n)
        return delta_segments.mean(axis=2), segments.mean(axis=2)
    raise ValueError(f"unknown pooling {pooling!r}, expected one of {POOLINGS}")


def audio_vector(
    y: np.ndarray,
    sr: int,
    n_mfcc: int = 13,
    lpc_order: int = 9,
    pooling: str = "seed",
) -> np.ndarray:
    """float32 [5 * n_mfcc * 2 + lpc_order + 1] (140 by default): [delta, MFCC, LPC].

    ``y`` is mono audio (the trailer from 5 s on, docs/method.md); the MFCCs are computed on
    it as given (``decode_audio`` returns float32, as ``librosa.load`` does for the seed;
    integer samples are cast to float32) and the LPC on its float64 copy. Raises
    ValueError for audio shorter than about 0.44 s at 22,050 Hz or with NaN/inf samples.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}, expected one of {POOLINGS}")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio [samples], got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("audio contains NaN or inf samples")
    if not np.issubdtype(y.dtype, np.floating):
        y = y.astype(np.float32)
    min_samples = (MIN_POOLED_FRAMES * N_POSITIONS - 1) * HOP_LENGTH
    if y.size < min_samples:
        raise ValueError(
            f"audio too short: {y.size} samples ({y.size / sr:.3f} s), need at least "
            f"{min_samples} ({min_samples / sr:.3f} s at {sr} Hz)"
        )
    mfcc = mfcc_by_blocks(np.ascontiguousarray(y), sr, n_mfcc, STFT_PAD_MODE[pooling])
    delta_means, mfcc_means = _pooled(mfcc, pooling)
    lpc = lpc_coefficients(y, order=lpc_order)
    vector = np.concatenate([delta_means.reshape(-1), mfcc_means.reshape(-1), lpc])
    # MFCCs go through a floored log, so they are finite for any finite input; keep the
    # promise even so (a NaN here would poison min-max scaling of the whole row later)
    vector = np.nan_to_num(vector, nan=0.0, posinf=0.0, neginf=0.0)
    return vector.astype(np.float32)
