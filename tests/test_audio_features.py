"""The 140-value audio vector against docs/method.md's formula, computed directly here."""

from __future__ import annotations

import librosa
import numpy as np
import pysptk
import pytest
from media import tone

from moviegenre.features.audio import (
    AUDIO_DIM,
    audio_feature_names,
    audio_vector,
    is_silent,
    lpc_coefficients,
    mfcc_by_blocks,
)

SR = 22050


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    """3 s of a tone whose pitch steps every second, float32 like librosa.load's."""
    return tone(3.0, SR)[0]


def method_vector(y: np.ndarray, sr: int) -> np.ndarray:
    """docs/method.md, "Audio features", written out step by step (librosa 0.6's reflect pad)."""
    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13, pad_mode="reflect")
    n = m.shape[1] // 5
    r = m[:, : n * 5].reshape(13, n, 5)
    mfcc_means = r.mean(axis=1)
    delta_means = librosa.feature.delta(r, width=(n // 2) * 2 - 1, axis=1, order=1).mean(axis=1)
    lpc = pysptk.sptk.lpc(y.astype(np.float64), order=9)
    return np.concatenate([delta_means.flatten(), mfcc_means.flatten(), lpc])


def test_seed_pooling_matches_method_formula(signal):
    v = audio_vector(signal, SR)
    assert v.shape == (AUDIO_DIM,) == (140,)
    assert v.dtype == np.float32
    expected = method_vector(signal, SR)
    np.testing.assert_allclose(v, expected.astype(np.float32), rtol=1e-5, atol=1e-5)


def test_segments_pooling_is_contiguous_fifths(signal):
    v = audio_vector(signal, SR, pooling="segments")
    m = librosa.feature.mfcc(y=signal, sr=SR, n_mfcc=13)
    n = m.shape[1] // 5
    kept = m[:, : n * 5]
    mfcc_means = np.stack([kept[:, p * n : (p + 1) * n].mean(axis=1) for p in range(5)], axis=1)
    d = librosa.feature.delta(kept, axis=1)
    delta_means = np.stack([d[:, p * n : (p + 1) * n].mean(axis=1) for p in range(5)], axis=1)
    np.testing.assert_allclose(v[:65], delta_means.flatten(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(v[65:130], mfcc_means.flatten(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(v[130:], audio_vector(signal, SR)[130:])  # same LPC


def test_seed_pads_the_stft_by_reflection_segments_with_zeros(signal):
    # the pad mode changes the edge frames only: delta and MFCC blocks, not the LPC
    seed = audio_vector(signal, SR)
    m = librosa.feature.mfcc(y=signal, sr=SR, n_mfcc=13)  # librosa 0.10+: constant
    n = m.shape[1] // 5
    r = m[:, : n * 5].reshape(13, n, 5)
    assert not np.allclose(seed[65:130], r.mean(axis=1).flatten(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(seed[130:], lpc_coefficients(signal).astype(np.float32))
    segments = audio_vector(signal, SR, pooling="segments")
    kept = m[:, : n * 5]
    np.testing.assert_allclose(
        segments[65:130], kept.reshape(13, 5, n).mean(axis=2).flatten(), rtol=1e-5, atol=1e-5
    )


def test_segments_differs_from_seed_on_a_changing_signal(signal):
    seed = audio_vector(signal, SR, pooling="seed")
    seg = audio_vector(signal, SR, pooling="segments")
    assert not np.allclose(seed[:130], seg[:130])
    # seed's 5 positions (index modulo 5) are nearly equal; contiguous segments are not
    seed_spread = np.ptp(seed[65:130].reshape(13, 5), axis=1).max()
    seg_spread = np.ptp(seg[65:130].reshape(13, 5), axis=1).max()
    assert seg_spread > 5 * seed_spread


def test_feature_names_follow_vector_order():
    names = audio_feature_names()
    assert len(names) == AUDIO_DIM == len(set(names))
    assert names[:2] == ["delta_c00_p0", "delta_c00_p1"]
    assert names[5] == "delta_c01_p0"
    assert names[65] == "mfcc_c00_p0" and names[129] == "mfcc_c12_p4"
    assert names[130:] == [f"lpc_{i}" for i in range(10)]
    assert len(audio_feature_names(n_mfcc=20, lpc_order=12)) == 5 * 20 * 2 + 13


def test_other_sizes(signal):
    v = audio_vector(signal, SR, n_mfcc=20, lpc_order=12)
    assert v.shape == (5 * 20 * 2 + 13,)


def test_silence_gives_a_finite_vector():
    y = np.zeros(2 * SR, dtype=np.float32)
    assert is_silent(y)
    v = audio_vector(y, SR)
    assert v.shape == (AUDIO_DIM,) and np.all(np.isfinite(v))
    np.testing.assert_array_equal(v[130:], 0.0)  # LPC of nothing: gain 0
    np.testing.assert_allclose(v[:65], 0.0, atol=1e-3)  # constant MFCCs: no slope
    with pytest.raises(np.linalg.LinAlgError):  # what the guard is for
        pysptk.sptk.lpc(y.astype(np.float64), order=9)


def test_is_silent(signal):
    assert not is_silent(signal)
    assert is_silent(np.array([], dtype=np.float32))
    assert is_silent(np.full(100, 1e-6, dtype=np.float32))
    assert not is_silent(np.full(100, 1e-6), threshold=1e-7)


def test_lpc_guard_only_changes_degenerate_input(signal):
    np.testing.assert_array_equal(
        lpc_coefficients(signal), pysptk.sptk.lpc(signal.astype(np.float64), order=9)
    )
    assert np.array_equal(lpc_coefficients(np.zeros(5)), np.zeros(10))


def test_minimum_length():
    # librosa's delta needs n = T // 5 >= 4 MFCC frames: T >= 20, i.e. 19 hops of 512
    y = tone(1.0, SR)[0]
    assert audio_vector(y[: 19 * 512], SR).shape == (AUDIO_DIM,)
    with pytest.raises(ValueError, match="too short"):
        audio_vector(y[: 19 * 512 - 1], SR)
    with pytest.raises(ValueError, match="too short"):
        audio_vector(np.zeros(0, dtype=np.float32), SR)


def test_bad_input_raises(signal):
    with pytest.raises(ValueError, match="pooling"):
        audio_vector(signal, SR, pooling="median")
    bad = signal.copy()
    bad[10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        audio_vector(bad, SR)
    with pytest.raises(ValueError, match="mono"):
        audio_vector(np.stack([signal, signal]), SR)


@pytest.mark.parametrize("samples", [9728, 512 * 40, 512 * 2048, 512 * 2048 + 1, 22050 * 50 + 77])
@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
def test_mfcc_by_blocks_is_librosas_mfcc_value_for_value(samples, pad_mode):
    # block edges, a length on a hop boundary (the last frame's reflection), several blocks
    y = tone(samples / SR + 1, SR, seed=samples)[0][:samples]
    expected = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13, pad_mode=pad_mode)
    np.testing.assert_array_equal(mfcc_by_blocks(y, SR, 13, pad_mode), expected)
