"""frame_timestamps follows docs/method.md's sampling rule, including the short-trailer clamp."""

from __future__ import annotations

import numpy as np
import pytest

from moviegenre.features.timestamps import END_MARGIN_S, frame_timestamps


def test_long_trailer_one_per_second_from_5_to_120():
    t = frame_timestamps(150.0)
    assert t.dtype == np.float64
    assert t.shape == (116,)
    np.testing.assert_allclose(t, np.arange(5.0, 121.0))


def test_exactly_120_s_uses_the_short_rule_without_clamping():
    t = frame_timestamps(120.0)
    step = (120.0 - 2.0) / 120.0
    np.testing.assert_allclose(t, 5.0 + np.arange(116) * step)
    assert t[-1] < 120.0 - END_MARGIN_S  # 5 + 115 * 118/120 = 118.08: nothing to clamp


def test_short_trailer_is_clamped_and_non_decreasing():
    duration = 30.0
    t = frame_timestamps(duration)
    assert t.shape == (116,)
    step = (duration - 2.0) / 120.0
    unclamped = 5.0 + np.arange(116) * step
    assert t[0] == 5.0
    assert np.all(np.diff(t) >= 0)
    assert np.all(t <= duration - END_MARGIN_S)
    past_end = unclamped >= duration - END_MARGIN_S
    assert past_end.any()  # 5 + 115 * 28/120 = 31.8 s > 30 s
    np.testing.assert_allclose(t[past_end], duration - END_MARGIN_S)
    np.testing.assert_allclose(t[~past_end], unclamped[~past_end])


def test_custom_window_and_count():
    t = frame_timestamps(300.0, start_s=0.0, end_s=10.0, count=11)
    np.testing.assert_allclose(t, np.arange(11.0))


@pytest.mark.parametrize("duration", [5.0, 4.9, 0.0, -1.0, float("nan")])
def test_too_short_or_invalid_raises(duration):
    with pytest.raises(ValueError, match="too short"):
        frame_timestamps(duration)


def test_integer_step_truncates_short_trailers_step_to_whole_ms():
    # (60 - 2) / 120 = 0.48333... s: the seed steps 0.483 s
    exact = frame_timestamps(60.0)
    integer = frame_timestamps(60.0, step_ms="integer")
    np.testing.assert_allclose(np.diff(exact[:50]), 58 / 120)
    np.testing.assert_allclose(np.diff(integer[:50]), 0.483)
    assert integer[0] == exact[0] == 5.0 and integer[100] < exact[100]
    # long trailers step 1 s either way; a step already in whole ms is unchanged
    np.testing.assert_array_equal(
        frame_timestamps(300.0, step_ms="integer"), frame_timestamps(300.0)
    )
    np.testing.assert_array_equal(
        frame_timestamps(122.0, step_ms="integer"), frame_timestamps(122.0)
    )
    with pytest.raises(ValueError, match="step_ms"):
        frame_timestamps(60.0, step_ms="ms")
