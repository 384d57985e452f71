"""The sound that goes into the audio vector: the seed's ``librosa.load`` chain.

docs/method.md: decode at the native rate, cut at the offset at that rate, average the
channels with equal weights, stop at the stream's declared end, then resample.
"""

from __future__ import annotations

from fractions import Fraction

import av
import librosa
import numpy as np
import pytest
import yaml
from helpers import REPO
from media import (
    tone,
    truncate_file,
    write_audio_file,
    write_late_audio_video,
    write_test_video,
)

from moviegenre.features.audio import audio_vector
from moviegenre.features.decode import TrailerError
from moviegenre.features.extract import extract_audio_shard
from moviegenre.features.resample import RESAMPLERS, resample
from moviegenre.features.sound import audio_notes, decode_audio, decode_audio_native
from moviegenre.features.trailer import audio_features_for, audio_features_noted

SR = 22050
AUDIO_CFG = {
    "sample_rate": SR,
    "offset_s": 1.0,
    "n_mfcc": 13,
    "lpc_order": 9,
    "pooling": "seed",
    "resampler": "soxr_hq",
}
# float samples (pcm_f32le): the only difference between layouts is the channel mean
LOSSLESS = {"audio_codec": "pcm_f32le", "sample_rate": 44100, "size": (32, 32), "fps": 4}


def _layouts(tmp_path, gains_by_layout):
    return {
        name: write_test_video(
            tmp_path / f"{name}.mkv", 4.0, channels=len(gains), gains=gains, **LOSSLESS
        )
        for name, gains in gains_by_layout.items()
    }


def test_same_signal_on_every_channel_gives_the_mono_features(tmp_path):
    files = _layouts(tmp_path, {"mono": [1.0], "stereo": [1.0, 1.0], "surround": [1.0] * 6})
    assert [av.open(str(p)).streams.audio[0].channels for p in files.values()] == [1, 2, 6]
    mono, _, _ = audio_features_for(files["mono"], AUDIO_CFG)
    for name in ("stereo", "surround"):
        vector, _, _ = audio_features_for(files[name], AUDIO_CFG)
        # FFmpeg's downmix (0.7071 (L + R)) moves MFCC c0 by ~+34 and the LPC gain x1.41
        np.testing.assert_allclose(vector, mono, rtol=1e-5, atol=1e-4, err_msg=name)


def test_equal_weight_channel_mean_for_any_layout(tmp_path):
    # channel levels that average to 1: the equal-weight mean is the mono tone itself,
    # any weighted downmix (FFmpeg's stereo or 5.1 matrix) is not
    files = _layouts(
        tmp_path,
        {"mono": [1.0], "stereo": [1.5, 0.5], "surround": [1.6, 0.4, 1.2, 0.8, 0.7, 1.3]},
    )
    mono, rate = decode_audio_native(files["mono"], 1.0)
    for name in ("stereo", "surround"):
        y, got_rate = decode_audio_native(files[name], 1.0)
        assert got_rate == rate == 44100
        np.testing.assert_allclose(y, mono, rtol=0, atol=1e-6, err_msg=name)
        vector, _, _ = audio_features_for(files[name], AUDIO_CFG)
        np.testing.assert_allclose(
            vector, audio_features_for(files["mono"], AUDIO_CFG)[0], rtol=1e-5, atol=1e-4
        )


@pytest.mark.parametrize(("rate", "channels"), [(44100, 2), (48000, 6), (8000, 1)])
def test_aac_ends_at_the_declared_end(tmp_path, rate, channels):
    # AAC decodes whole 1,024-sample frames: the last one runs past the written sound
    path = write_test_video(tmp_path / "a.mp4", 3.0, sample_rate=rate, channels=channels)
    with av.open(str(path)) as container:
        decoded = sum(f.samples for f in container.decode(audio=0))
    assert decoded > 3 * rate  # the padding is there to drop
    y, got_rate = decode_audio_native(path, 0.0)
    assert got_rate == rate and y.size == 3 * rate
    cut, _ = decode_audio_native(path, 1.25)
    assert cut.size == 3 * rate - round(1.25 * rate)  # cut at the native rate
    np.testing.assert_array_equal(cut, y[round(1.25 * rate) :])


def test_decode_audio_resamples_the_native_cut(tmp_path):
    path = write_test_video(tmp_path / "a.mkv", 4.0, **LOSSLESS)
    native, rate = decode_audio_native(path, 1.0)
    for method in RESAMPLERS:
        y = decode_audio(path, SR, 1.0, resampler=method)
        np.testing.assert_array_equal(y, resample(native, rate, SR, method))
    same_rate = write_test_video(tmp_path / "b.mkv", 4.0, **{**LOSSLESS, "sample_rate": SR})
    native, _ = decode_audio_native(same_rate, 1.0)
    np.testing.assert_array_equal(decode_audio(same_rate, SR, 1.0, resampler="swr"), native)


def test_resamplers_are_what_they_name():
    y = tone(2.0, 44100)[0]
    soxr_hq = resample(y, 44100, SR, "soxr_hq")
    kaiser = resample(y, 44100, SR, "kaiser_best")
    swr = resample(y, 44100, SR, "swr")
    import resampy
    import soxr

    np.testing.assert_allclose(soxr_hq, soxr.resample(y, 44100, SR, quality="soxr_hq"), atol=1e-7)
    expected = resampy.resample(y, 44100, SR, filter="kaiser_best", axis=-1)
    np.testing.assert_allclose(kaiser, librosa.util.fix_length(expected, size=SR * 2), atol=1e-7)
    assert soxr_hq.size == kaiser.size == 2 * SR and abs(swr.size - 2 * SR) <= 64
    # three different filters: close on a band-limited tone, never identical
    assert 0 < np.abs(soxr_hq - kaiser).max() < 0.01
    n = min(swr.size, soxr_hq.size)
    assert 0 < np.abs(swr[:n] - soxr_hq[:n]).max()
    with pytest.raises(ValueError, match="resampler"):
        resample(y, 44100, SR, "linear")


def test_resampler_option_changes_only_the_audio_vector(tmp_path):
    path = write_test_video(tmp_path / "a.mkv", 4.0, **LOSSLESS)
    base, silent, duration = audio_features_for(path, AUDIO_CFG)
    for method in ("kaiser_best", "swr"):
        other, other_silent, other_duration = audio_features_for(
            path, {**AUDIO_CFG, "resampler": method}
        )
        assert (other_silent, other_duration) == (silent, duration)
        assert not np.array_equal(other, base)  # MFCCs move by up to ~5 on this tone + noise


def test_packed_integer_pcm_is_scaled_and_deinterleaved(tmp_path):
    # pcm_s16le decodes to packed s16 (L R L R ...): a wrong reshape mixes samples in time
    pcm = {**LOSSLESS, "audio_codec": "pcm_s16le"}
    mono = write_test_video(tmp_path / "mono.avi", 4.0, channels=1, gains=[1.0], **pcm)
    stereo = write_test_video(tmp_path / "stereo.avi", 4.0, channels=2, gains=[1.5, 0.5], **pcm)
    with av.open(str(stereo)) as container:
        frame = next(container.decode(audio=0))
        assert frame.format.name == "s16" and not frame.format.is_planar
    y_mono, _ = decode_audio_native(mono, 1.0)
    y_stereo, _ = decode_audio_native(stereo, 1.0)
    assert 0.2 < np.abs(y_mono).max() < 1.0
    np.testing.assert_allclose(y_stereo, y_mono, rtol=0, atol=2 / 2**15)


def _pan_mean(path) -> np.ndarray:
    """FFmpeg's own ``pan`` filter with gain 1/N on every channel: an independent mean."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        n = stream.codec_context.channels
        graph = av.filter.Graph()
        source = graph.add_abuffer(template=stream)
        pan = graph.add("pan", "mono|c0=" + "+".join(f"{1 / n!r}*c{i}" for i in range(n)))
        sink = graph.add("abuffersink")
        source.link_to(pan)
        pan.link_to(sink)
        graph.configure()
        out = []
        for frame in container.decode(stream):
            graph.push(frame)
            while True:
                try:
                    out.append(graph.pull().to_ndarray().reshape(-1).astype(np.float64))
                except (av.BlockingIOError, av.EOFError):
                    break
    return np.concatenate(out)


# (layout, channels, codec, container, decoded sample format, quantisation step)
LAYOUTS = [
    ("5.1", 6, "aac", "mp4", "fltp", None),
    ("5.1", 6, "pcm_s16le", "mkv", "s16", 2.0**-15),
    ("7.1", 8, "aac", "mp4", "fltp", None),  # the SIGSEGV of issue 22
    ("7.1", 8, "pcm_s32le_planar", "nut", "s32p", 2.0**-30),
    ("7.1", 8, "pcm_u8", "mkv", "u8", 2.0**-7),
    ("hexadecagonal", 16, "aac", "mp4", "fltp", None),
    ("hexadecagonal", 16, "pcm_s16le_planar", "nut", "s16p", 2.0**-15),
    ("hexadecagonal", 16, "pcm_f32le", "mkv", "flt", 1e-7),
]


@pytest.mark.parametrize(("layout", "channels", "codec", "ext", "fmt", "step"), LAYOUTS)
def test_equal_weight_mean_of_many_channels(tmp_path, layout, channels, codec, ext, fmt, step):
    rate = 48000
    gains = np.linspace(1.6, 0.4, channels)  # unequal levels: a weighted downmix would show
    signal = tone(1.5, rate, channels, gains=gains)
    path = write_audio_file(tmp_path / f"a.{ext}", signal, rate, codec, layout)
    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.channels == channels
        frame = next(container.decode(audio=0))
        assert frame.format.name == fmt
    y, got_rate = decode_audio_native(path, 0.0)
    assert got_rate == rate and y.dtype == np.float32
    if step is None:  # lossy: FFmpeg's own equal-gain downmix of the same decoded frames
        reference = _pan_mean(path)[: y.size]
        np.testing.assert_allclose(y, reference, rtol=0, atol=1e-6)
    else:  # lossless: the mean of what was written, up to the sample format's step
        reference = signal.astype(np.float64).mean(axis=0)
        assert y.size == reference.size
        np.testing.assert_allclose(y, reference, rtol=0, atol=step + 1e-7)  # + float32
    assert np.abs(y).max() > 0.1


def test_late_audio_is_flagged_not_silently_padded(tmp_path):
    late = write_late_audio_video(tmp_path / "late.mkv", 30.0, 36.0)
    on_time = write_test_video(tmp_path / "ok.mkv", 8.0, size=(32, 32))
    notes: dict = {}
    y, rate = decode_audio_native(late, 5.0, notes=notes)
    assert notes["late_audio"] and abs(notes["audio_start_s"] - 30.0) < 0.05
    assert abs(notes["padded_s"] - 25.0) < 0.05 and not np.any(y[: int(24.9 * rate)])
    rows = extract_audio_shard(
        {"late": late, "ok": on_time}, tmp_path / "a.parquet", tmp_path / "a.csv", AUDIO_CFG
    )
    flags = {r.trailer_id: (r.status, r.flags, r.detail) for r in rows}
    assert flags["late"][:2] == ("ok", "late_audio") and "starts at 30.00 s" in flags["late"][2]
    assert flags["ok"] == ("ok", "", "")


def test_the_stream_ffmpeg_calls_best_is_used_and_named(tmp_path):
    rate = 44100
    path = tmp_path / "two.mkv"
    with av.open(str(path), mode="w") as container:
        commentary = container.add_stream("aac", rate=rate, layout="mono")
        commentary.disposition = av.stream.Disposition(0)
        main = container.add_stream("aac", rate=rate, layout="stereo")
        main.disposition = av.stream.Disposition.default
        for stream, signal in (
            (commentary, tone(3.0, rate, 1, gains=[0.1])),
            (main, tone(3.0, rate, 2, gains=[1.0, 1.0])),
        ):
            for a in range(0, signal.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(signal[:, a : a + 1024]),
                    format="fltp",
                    layout=stream.layout.name,
                )
                frame.sample_rate, frame.pts, frame.time_base = rate, a, Fraction(1, rate)
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    notes: dict = {}
    y, _ = decode_audio_native(path, 0.5, notes=notes)
    assert 0.2 < np.abs(y).max() < 1.0  # the default stereo track, not the quiet one
    assert notes["stream"].startswith("audio stream #1 aac 2 ch 44100 Hz default used")
    assert "not #0 aac 1 ch" in notes["stream"]
    vector, _, _, noted = audio_features_noted(path, {**AUDIO_CFG, "offset_s": 0.5})
    assert noted["stream"] == notes["stream"] and not noted["late_audio"]


def test_max_seconds_keeps_shorter_sound_exact_and_cuts_longer(tmp_path):
    path = write_test_video(tmp_path / "a.mkv", 8.0, **LOSSLESS)  # 7 s of sound after 1 s
    full, rate = decode_audio_native(path, 1.0)
    np.testing.assert_array_equal(decode_audio_native(path, 1.0, max_seconds=7.5)[0], full)
    notes: dict = {}
    cut, _ = decode_audio_native(path, 1.0, max_seconds=3.0, notes=notes)
    np.testing.assert_array_equal(cut, full[: 3 * rate])
    assert notes["cut_at_s"] == 4.0
    unlimited = {k: v for k, v in AUDIO_CFG.items() if k != "max_seconds"}
    base = audio_features_for(path, unlimited)[0]
    np.testing.assert_array_equal(
        audio_features_for(path, {**unlimited, "max_seconds": 7})[0], base
    )
    vector, _, _, noted = audio_features_noted(path, {**unlimited, "max_seconds": 3})
    expected = audio_vector(resample(full[: 3 * rate], rate, SR, "soxr_hq"), SR)
    np.testing.assert_array_equal(vector, expected)
    assert audio_notes(False, noted)[0] == "cut"
    # decoding stops at the limit: a file cut short after it is not read that far
    broken = truncate_file(
        write_test_video(tmp_path / "b.mkv", 12.0, **LOSSLESS), tmp_path / "c.mkv"
    )
    with pytest.raises(TrailerError, match="truncated"):
        decode_audio_native(broken, 1.0, max_overrun_s=2.0)
    decode_audio_native(broken, 1.0, max_overrun_s=2.0, max_seconds=2.0)


def test_params_keep_trailers_up_to_ten_minutes_whole():
    audio = yaml.safe_load((REPO / "params.yaml").read_text())["audio"]
    assert audio["offset_s"] + audio["max_seconds"] >= 600
