"""The frame input of the visual models is one rule for training and `predict`.

models/frames.py pads or cuts a trailer's features to dataset.max_frames; the training
batches and `predict` must feed a trailer identically, or the scores drift apart.
"""

from __future__ import annotations

import numpy as np

from moviegenre.models.batches import FrameBatches


def test_predict_feeds_a_trailer_as_the_training_batches_do() -> None:
    """`predict`'s input for a trailer is the batch row training and the oof stage read for
    it from the data set (its first n_frames frames), padded or cut to max_frames alike;
    a new trailer longer than the data set's n_frames is cut there too."""
    from moviegenre.predict import visual_input

    rng = np.random.default_rng(0)
    lengths = [3, 7, 5]
    trailers = [rng.normal(size=(n, 4)).astype(np.float16) for n in lengths]
    order = np.array([2, 0, 1])
    for max_frames in (4, 9):
        n_frames = min(max_frames, max(lengths))  # what build_dataset keeps
        stored = np.zeros((len(trailers), n_frames, 4), dtype=np.float16)
        for i, frames in enumerate(trailers):
            stored[i, : min(len(frames), n_frames)] = frames[:n_frames]
        batch = FrameBatches(stored, order, max_frames, len(order)).gather(order)
        for row, i in enumerate(order):
            x = visual_input(trailers[i], max_frames, n_frames)
            assert x.shape == (1, max_frames, 4) and x.dtype == np.float32
            np.testing.assert_array_equal(x[0], batch[row])
            keep = min(lengths[i], n_frames)
            np.testing.assert_array_equal(x[0, :keep], trailers[i][:keep].astype(np.float32))
            assert not x[0, keep:].any()
    longer = rng.normal(size=(12, 4)).astype(np.float16)
    x = visual_input(longer, 9, 7)
    np.testing.assert_array_equal(x[0, :7], longer[:7].astype(np.float32))
    assert not x[0, 7:].any()
