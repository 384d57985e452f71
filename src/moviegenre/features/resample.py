"""Sample-rate conversion of the mono trailer sound to ``audio.sample_rate``.

The seed resampled with resampy ``kaiser_best`` (librosa 0.6's default), after cutting
and downmixing at the native rate. That filter is slow (seconds per trailer), so the
default here is ``soxr_hq`` (librosa 0.10+'s default, about 100x faster); ``kaiser_best``
reproduces the seed's numbers and ``swr`` is FFmpeg's libswresample. docs/method.md
gives the measured differences between them.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

#: values of ``audio.resampler``
RESAMPLERS = ("soxr_hq", "kaiser_best", "swr")
DEFAULT_RESAMPLER = "soxr_hq"


def _swr(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """libswresample (PyAV's AudioResampler) on a mono float32 signal, flushed at the end."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=int(target_sr))
    frame = av.AudioFrame.from_ndarray(y[None, :], format="flt", layout="mono")
    frame.sample_rate = int(orig_sr)
    frame.pts = 0
    frame.time_base = Fraction(1, int(orig_sr))
    chunks = [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def resample(
    y: np.ndarray, orig_sr: int, target_sr: int, method: str = DEFAULT_RESAMPLER
) -> np.ndarray:
    """Mono float32 ``y`` at ``orig_sr`` converted to ``target_sr`` with ``method``.

    ``soxr_hq`` and ``kaiser_best`` go through ``librosa.resample`` exactly as
    ``librosa.load`` does (output length ceil(len * ratio)); equal rates return ``y``
    unchanged, as librosa does.
    """
    if method not in RESAMPLERS:
        raise ValueError(f"unknown resampler {method!r}, expected one of {RESAMPLERS}")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if int(orig_sr) == int(target_sr) or y.size == 0:
        return y
    if method == "swr":
        out = _swr(y, orig_sr, target_sr)
    else:
        import librosa

        out = librosa.resample(y, orig_sr=int(orig_sr), target_sr=int(target_sr), res_type=method)
    return np.ascontiguousarray(out, dtype=np.float32)
