"""Cross-trailer batches (features/embedding.py): same features, full batches, bounded memory.

The features of frames embedded several trailers to a network call must equal, bit for
bit, those of one trailer per call (Backbone.embed), with the real Keras backbone; the
generator must fill every call but the last, keep each trailer's frames in order, and
pull trailers only as batches need them.
"""

from __future__ import annotations

import numpy as np
import pytest

from moviegenre.features.embedding import embed_across_trailers

FRAME_COUNTS = (5, 11, 3, 0, 8, 1)  # across batch boundaries, an empty one, a tiny one
BATCH = 4


def _trailers(seed: int = 0) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (f"t{i}", rng.integers(0, 256, size=(n, 224, 224, 3), dtype=np.uint8))
        for i, n in enumerate(FRAME_COUNTS)
    ]


@pytest.fixture(scope="module")
def backbone():
    from moviegenre.features.backbones import build_backbone

    return build_backbone("mobilenetv3small", "none")


def test_features_equal_one_trailer_per_call(backbone) -> None:
    trailers = _trailers()
    expected = {key: backbone.embed(frames, BATCH) for key, frames in trailers}
    got = list(embed_across_trailers(backbone, iter(trailers), BATCH))
    assert [key for key, _ in got] == [key for key, _ in trailers]  # input order
    for key, features in got:
        assert features.dtype == np.float16 and features.shape == expected[key].shape
        np.testing.assert_array_equal(features, expected[key], err_msg=key)
    assert np.abs(np.concatenate([f for _, f in got]).astype(np.float32)).max() > 0


class _Recorder:
    """A frame embedder that records each call's size: the feature is the frame's mean."""

    dim = 1

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed_batch(self, chunk: np.ndarray, batch_size: int) -> np.ndarray:
        assert len(chunk) <= batch_size
        self.calls.append(len(chunk))
        return chunk.reshape(len(chunk), -1).mean(axis=1, keepdims=True).astype(np.float16)


def test_every_call_is_full_but_the_last_and_frames_stay_in_order() -> None:
    rng = np.random.default_rng(1)
    trailers = [
        (i, rng.integers(0, 256, size=(n, 2, 2, 3), dtype=np.uint8))
        for i, n in enumerate(FRAME_COUNTS)
    ]
    recorder = _Recorder()
    got = dict(embed_across_trailers(recorder, trailers, BATCH))
    total = sum(FRAME_COUNTS)
    assert recorder.calls == [BATCH] * (total // BATCH) + ([total % BATCH] if total % BATCH else [])
    for key, frames in trailers:
        expected = frames.reshape(len(frames), 12).mean(axis=1, keepdims=True)
        np.testing.assert_array_equal(got[key], expected.astype(np.float16))


def test_trailers_are_pulled_only_as_batches_need_them() -> None:
    pulled: list[int] = []

    def items():
        for i in range(50):
            pulled.append(i)
            yield i, np.zeros((10, 1, 1, 3), dtype=np.uint8)

    results = embed_across_trailers(_Recorder(), items(), 32)
    first_key, _ = next(results)
    assert first_key == 0
    # 32 frames need 4 trailers of 10: the first is done once the 4th is pulled, no more
    assert len(pulled) == 4
    assert [key for key, _ in results] == list(range(1, 50))
