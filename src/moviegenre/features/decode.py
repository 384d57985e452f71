"""Decode a trailer's frames and sound with PyAV (no ffmpeg subprocess, no temporary files).

Frames come from ONE sequential decoding pass: docs/method.md samples about one frame a
second over two minutes, and seeking per timestamp (what the seed does with OpenCV)
re-decodes from the previous keyframe every time, which costs several times more
(see ``benchmarks/bench_decode.py``). Only the picked frames are colour-converted and
scaled, by libswscale through PyAV. The sound is decoded in features/sound.py with the
opening and decoding helpers defined here (open_container, decode_stream, origin_s).

Every problem that makes a trailer unusable raises :class:`TrailerError` with a short
machine-readable ``reason`` so the extraction step can report it per trailer and go on.
"""

from __future__ import annotations

import codecs
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

log = logging.getLogger("moviegenre.decode")

# tolerance on frame times: they are rationals converted to float
_EPS = 1e-6
#: corrupt packets skipped (FFmpeg conceals them) before a trailer is given up as broken;
#: the last packet of an interrupted download is typically one of them
MAX_BAD_PACKETS = 8


class TrailerError(Exception):
    """A trailer that cannot be used, with a short machine-readable reason."""

    def __init__(
        self,
        path: Path | str,
        reason: str,
        detail: str = "",
        duration_s: float = float("nan"),
    ) -> None:
        self.path = Path(path)
        self.reason = reason
        self.detail = detail
        #: the trailer's duration when it was known before the failure (its status row's)
        self.duration_s = float(duration_s)
        super().__init__(f"{self.path.name}: {reason}: {detail}")

    def __reduce__(self):  # keep all fields across process pools (pickle)
        return (type(self), (self.path, self.reason, self.detail, self.duration_s))


@dataclass(frozen=True)
class MediaInfo:
    """What the extraction step needs to know about a trailer before decoding it.

    ``width``/``height`` are the coded (stored) picture size of the first video stream;
    ``rotation_deg`` is the counter-clockwise display rotation (PyAV's
    ``VideoFrame.rotation``), so a portrait phone clip shows e.g. 1920x1080 and -90.
    Sizes, rates and channels are 0 when the stream is missing.
    """

    path: Path
    duration_s: float
    has_video: bool
    has_audio: bool
    width: int
    height: int
    fps: float
    rotation_deg: int
    audio_sample_rate: int
    audio_channels: int


def open_container(path: Path) -> av.container.InputContainer:
    """Open for reading, mapping every failure to a TrailerError."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise TrailerError(path, "unreadable", "file not found") from exc
    if size == 0:
        raise TrailerError(path, "empty_file", "0 bytes")
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise TrailerError(path, "unreadable", _unreadable_detail(path, exc)) from exc


def _describe(exc: BaseException) -> str:
    """FFmpeg's message without the file name (the report has its own column for it)."""
    strerror = getattr(exc, "strerror", None)
    if isinstance(exc, av.FFmpegError) and strerror:
        return str(strerror).strip()[:200]
    text = str(exc).strip() or type(exc).__name__
    return text.split("; last error log:")[0][:200]


#: top-level box types that start an ISO base media file (mp4, mov, m4v, 3gp)
_ISO_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})


def _top_level_boxes(path: Path, limit: int = 64) -> list[bytes] | None:
    """Types of the top-level boxes of an ISO media file, or None if it is not one.

    Reads only the 8-16 byte box headers (seeking over the payloads), so it costs
    nothing even for a large file.
    """
    boxes: list[bytes] = []
    try:
        with open(path, "rb") as handle:
            size_total = path.stat().st_size
            position = 0
            while position + 8 <= size_total and len(boxes) < limit:
                handle.seek(position)
                header = handle.read(16)
                size = int.from_bytes(header[:4], "big")
                kind = header[4:8]
                if not boxes and kind not in _ISO_BOXES:
                    return None
                boxes.append(kind)
                if size == 1 and len(header) == 16:
                    size = int.from_bytes(header[8:16], "big")
                elif size == 0:  # box extends to the end of the file
                    break
                if size < 8:
                    break
                position += size
    except OSError:
        return None
    return boxes or None


def _unreadable_detail(path: Path, exc: BaseException) -> str:
    """Say why FFmpeg cannot open a file, in words a user can act on.

    FFmpeg answers "Invalid data found" both for a text file and for an mp4 cut
    before its index (moov atom, written last unless faststart): tell them apart.
    """
    message = _describe(exc)
    boxes = _top_level_boxes(path)
    if boxes is not None and b"moov" not in boxes:
        return f"MP4/MOV file without its index (no moov atom): truncated download? ({message})"
    try:
        with open(path, "rb") as handle:
            head = handle.read(256)
    except OSError:
        return message
    try:  # incremental: a character cut at byte 256 is not an error
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        text = None
    if text is not None and text.strip() and all(c.isprintable() or c in "\r\n\t" for c in text):
        first = text.strip().splitlines()[0][:40]
        return f"not a media file: it holds text ({first!r}...) ({message})"
    return f"not a media file FFmpeg can read ({message})"


def origin_s(container: av.container.InputContainer) -> float:
    """Time of the container's start: trailer time 0 (non-zero for e.g. MPEG-TS)."""
    start = container.start_time
    return 0.0 if start is None else start / av.time_base


def _frame_rate(stream: av.video.stream.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            value = float(rate)
            if math.isfinite(value) and 0 < value < 1000:
                return value
    return 0.0


def _rotation_deg(frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> int:
    """Counter-clockwise display rotation, a multiple of 90.

    PyAV >= 14 reads the display matrix attached to the frame; older FFmpeg builds
    exposed it as the stream tag ``rotate`` (clockwise degrees) instead.
    """
    degrees = getattr(frame, "rotation", None)
    if not degrees:
        tag = stream.metadata.get("rotate") if stream.metadata else None
        try:
            degrees = -float(tag) if tag is not None else 0
        except ValueError:
            degrees = 0
    if degrees is None or not math.isfinite(degrees):
        return 0
    turns = int(round(degrees / 90.0)) % 4
    return {0: 0, 1: 90, 2: 180, 3: -90}[turns]


def _to_rgb(frame: av.VideoFrame, size: tuple[int, int], rotation_deg: int) -> np.ndarray:
    """Scale one decoded frame to ``size`` = (width, height) RGB, upright.

    For a quarter-turn rotation the coded picture is scaled to (height, width) first,
    so the output has the requested shape after turning it.
    """
    width, height = size
    turns = (rotation_deg // 90) % 4
    if turns % 2:
        rgb = frame.to_ndarray(width=height, height=width, format="rgb24")
    else:
        rgb = frame.to_ndarray(width=width, height=height, format="rgb24")
    if turns:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=turns))
    return rgb


def best_stream(container: av.container.InputContainer, kind: str):
    """The stream of ``kind`` ("video"/"audio") FFmpeg's ``av_find_best_stream`` picks, or None.

    What ffplay and most players use: not hearing/visually impaired, then the default
    disposition, then streams with several decodable frames, then the higher bit rate. An
    audio stream is looked for near the chosen video stream (same program). The first
    stream of the kind when FFmpeg declines them all (e.g. no channel count in the header).
    """
    streams = container.streams.video if kind == "video" else container.streams.audio
    if not streams:
        return None
    related = best_stream(container, "video") if kind == "audio" else None
    try:
        chosen = container.streams.best(kind, related=related)
    except (av.FFmpegError, ValueError, TypeError):
        chosen = None
    return chosen if chosen is not None else streams[0]


def describe_stream(stream) -> str:
    """One stream in a few words, as a log line or a status detail names it."""
    context = stream.codec_context
    words = [f"#{stream.index}", str(context.name)]
    if stream.type == "audio":
        words += [f"{context.channels} ch", f"{context.sample_rate} Hz"]
    elif stream.type == "video":
        words.append(f"{context.width}x{context.height}")
    language = (stream.metadata or {}).get("language")
    if language:
        words.append(str(language))
    if stream.disposition & av.stream.Disposition.default:
        words.append("default")
    return " ".join(words)


def stream_choice(container: av.container.InputContainer, stream) -> str:
    """'' for a file with one stream of the chosen one's type, else which was used of which."""
    streams = container.streams.video if stream.type == "video" else container.streams.audio
    if len(streams) < 2:
        return ""
    others = ", ".join(describe_stream(s) for s in streams if s.index != stream.index)
    return f"{stream.type} stream {describe_stream(stream)} used (FFmpeg's best); not {others}"


def _video_stream(container: av.container.InputContainer, path: Path, threads: int):
    stream = best_stream(container, "video")
    if stream is None:
        raise TrailerError(path, "no_video_stream", "no video stream in the file")
    choice = stream_choice(container, stream)
    if choice:
        log.info("%s: %s", path.name, choice)
    # frame + slice threading; thread_count 0 lets FFmpeg pick (one per core)
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = max(0, int(threads))
    return stream


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = (int(v) for v in size)
    if width <= 0 or height <= 0:
        raise ValueError(f"size must be positive (width, height), got {size}")
    return width, height


def _as_targets(timestamps: np.ndarray) -> np.ndarray:
    targets = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(targets)):
        raise ValueError("timestamps must be finite")
    return targets


def decode_stream(
    container: av.container.InputContainer,
    stream,
    path: Path,
    before: Callable[[av.Packet], bool] | None = None,
) -> Iterator:
    """Decoded frames of ``stream``, skipping up to MAX_BAD_PACKETS corrupt packets.

    ``container.decode`` stops at the first packet the decoder rejects; real downloads
    have the odd damaged packet, which should cost a frame, not the trailer.
    ``before(packet)`` runs before each packet goes to the decoder (frame skipping);
    when it returns False the packet is not decoded at all.
    """
    bad = 0
    try:
        for packet in container.demux(stream):
            if before is not None and not before(packet):
                continue
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                bad += 1
                if bad > MAX_BAD_PACKETS:
                    raise TrailerError(
                        path, "decode_error", f"{bad} corrupt packets, last: {_describe(exc)}"
                    ) from exc
                continue
            yield from frames
    except av.FFmpegError as exc:  # demuxer (I/O, container structure)
        raise TrailerError(path, "decode_error", _describe(exc)) from exc


def probe(path: Path | str) -> MediaInfo:
    """Read a trailer's streams and duration (the first video frame is decoded for rotation).

    Duration: the container's, else the longest stream's, else the last packet's end.
    Raises TrailerError: ``empty_file`` for 0 bytes, ``unreadable`` when FFmpeg cannot
    open the file (not a media file, truncated mp4 without its moov atom, missing).
    """
    path = Path(path)
    with open_container(path) as container:
        vstream = best_stream(container, "video")
        astream = best_stream(container, "audio")
        width = height = rotation = 0
        fps = 0.0
        if vstream is not None:
            width = int(vstream.codec_context.width or 0)
            height = int(vstream.codec_context.height or 0)
            fps = _frame_rate(vstream)
            rotation = _first_frame_rotation(container, vstream)
        duration = _duration_s(container, path)  # after: its fallback reads to the end
        rate = channels = 0
        if astream is not None:
            rate = int(astream.codec_context.sample_rate or 0)
            channels = int(astream.codec_context.channels or 0)
    return MediaInfo(
        path=path,
        duration_s=duration,
        has_video=vstream is not None,
        has_audio=astream is not None,
        width=width,
        height=height,
        fps=fps,
        rotation_deg=rotation,
        audio_sample_rate=rate,
        audio_channels=channels,
    )


def _duration_s(container: av.container.InputContainer, path: Path) -> float:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    stream_durations = [
        float(s.duration * s.time_base)
        for s in container.streams
        if s.duration is not None and s.time_base is not None and s.duration > 0
    ]
    if stream_durations:
        return max(stream_durations)
    # no header duration (some streamed files): read packet times, no decoding
    origin = origin_s(container)
    end = None
    try:
        for packet in container.demux():
            if packet.pts is None or packet.time_base is None:
                continue
            t = float((packet.pts + (packet.duration or 0)) * packet.time_base) - origin
            end = t if end is None else max(end, t)
    except av.FFmpegError as exc:
        raise TrailerError(path, "unreadable", _describe(exc)) from exc
    if end is None:
        raise TrailerError(path, "unreadable", "no duration and no timed packets")
    return max(end, 0.0)


def _first_frame_rotation(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> int:
    try:
        for frame in container.decode(stream):
            return _rotation_deg(frame, stream)
    except av.FFmpegError:
        pass  # probe describes; decoding problems surface in iter_frames_at
    return 0


@dataclass(frozen=True)
class _SkipPlan:
    """Which packets a pass must decode to output exactly the frames nearest the targets.

    ``wanted``: pts of the frames nearest some target (never skipped). ``drop``: pts of
    packets not sent to the decoder at all: in a closed GOP, those after the GOP's last
    wanted packet in decode order (nothing decoded later refers back to them: frames only
    refer to frames decoded before them, and the next keyframe starts afresh). ``frames``:
    frames in the stream.
    """

    wanted: frozenset
    drop: frozenset
    frames: int


def _skip_plan(path: Path, targets: np.ndarray) -> _SkipPlan | None:
    """Plan the skipping from a packets-only pass (no decoding: a few ms per trailer).

    None when a packet has no pts (e.g. some AVI files) or the file cannot be read here:
    then every frame is decoded, as without skipping.
    """
    try:
        with open_container(path) as container:
            stream = best_stream(container, "video")
            if stream is None:
                return None
            origin = origin_s(container)
            pts, key = [], []
            for packet in container.demux(stream):
                if packet.size == 0:  # the flush packet at the end
                    continue
                if packet.pts is None:
                    return None
                pts.append(packet.pts)
                key.append(bool(packet.is_keyframe))
            time_base = stream.time_base
    except (TrailerError, av.FFmpegError, IndexError):
        return None  # the decoding pass reports what is wrong with the file
    if not pts or time_base is None:
        return None
    order = np.asarray(pts, dtype=np.int64)  # decode order
    stamps = np.unique(order)
    wanted = stamps[nearest_indices(stamps * float(time_base) - origin, targets)]
    return _SkipPlan(
        frozenset(wanted.tolist()),
        frozenset(_droppable(order, np.asarray(key), set(wanted.tolist()))),
        len(stamps),
    )


def _droppable(order: np.ndarray, key: np.ndarray, wanted: set) -> list[int]:
    """pts of the packets after the last wanted one of their GOP (decode order).

    Only for closed GOPs: if a packet after a keyframe shows before it (an open GOP's
    leading B-frames, which refer to the previous GOP), nothing is dropped.
    """
    gop = np.cumsum(key)  # 0 before the first keyframe: kept
    drop: list[int] = []
    for g in range(1, int(gop[-1]) + 1):
        members = np.flatnonzero(gop == g)
        if np.any(order[members] < order[members[0]]):
            return []  # open GOP
        is_wanted = [int(p) in wanted for p in order[members]]
        last = max((i for i, w in enumerate(is_wanted) if w), default=-1)
        drop.extend(order[members[last + 1 :]].tolist())
    return drop


def nearest_indices(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index into sorted ``times`` of the frame nearest each target (a tie: the earlier).

    Targets before the first frame get the first, after the last get the last: the
    rule :func:`iter_frames_at` follows on the frames it decodes.
    """
    after = np.searchsorted(times, targets, side="left").clip(0, len(times) - 1)
    before = (after - 1).clip(0, None)
    take_before = (targets - times[before]) <= (times[after] - targets) + _EPS
    return np.where(take_before, before, after)


def iter_frames_at(
    path: Path | str,
    timestamps: np.ndarray,
    size: tuple[int, int] = (224, 224),
    threads: int = 0,
    *,
    max_overrun_s: float | None = None,
    skip_nonref: bool = True,
    stats: dict | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(target index, RGB uint8 [height, width, 3])`` for every timestamp, in one pass.

    ``size`` is (width, height) after rotation (docs/method.md: 224 x 224, aspect not kept,
    like the seed's resize). Times are seconds from the container start. The frame
    picked for target ``t`` is the frame whose time is nearest to ``t`` (a tie goes to
    the earlier frame), also on variable-frame-rate video. Targets come out in
    time order (ties in input order) whatever order ``timestamps`` has; repeated
    targets each get their own copy. Targets past the last frame get the last frame
    (clamp), unless they lie more than ``max_overrun_s`` past it: then the video
    ended early (e.g. a truncated download) and ``decode_error`` is raised.
    Rotated (phone) video is turned upright from its display matrix.

    With ``skip_nonref`` the decoder decodes every reference frame that a wanted frame
    may be predicted from but skips a non-reference frame (FFmpeg ``skip_frame``
    NONREF, set per packet) unless it is the nearest to a target, and in a closed GOP
    gets no packet after the GOP's last wanted one: the same frames come out, for less
    work (most B-frames of x264 footage are non-reference). See :class:`_SkipPlan`.
    ``stats``, if given, receives ``decoded`` (frames the decoder output) and
    ``frames`` (frames in the stream; 0 when unknown).
    """
    path = Path(path)
    width, height = _check_size(size)
    targets = _as_targets(timestamps)
    plan = _skip_plan(path, targets) if len(targets) else None
    if stats is not None:
        stats["frames"] = 0 if plan is None else plan.frames
        stats["decoded"] = 0
    with open_container(path) as container:
        stream = _video_stream(container, path, threads)
        if len(targets) == 0:
            return
        before = None
        if plan is not None and skip_nonref:
            before = _packet_filter(plan, stream.codec_context)
        picker = _NearestFrames(targets, (width, height), stream)
        fps = _frame_rate(stream)
        period = 1.0 / fps if fps > 0 else 0.0
        origin = origin_s(container)
        for frame in decode_stream(container, stream, path, before):
            if frame.time is not None:
                t = frame.time - origin
            elif picker.prev_frame is not None:
                t = picker.prev_time + period
            else:
                t = 0.0
            if stats is not None:
                stats["decoded"] += 1
            yield from picker.offer(frame, t)
            if picker.done:
                return
        yield from picker.rest(path, max_overrun_s)


def _packet_filter(plan: _SkipPlan, context) -> Callable[[av.Packet], bool]:
    """The ``before`` of :func:`decode_stream` that carries out ``plan`` on ``context``."""

    def before(packet: av.Packet) -> bool:
        if packet.size == 0:  # flush
            return True
        if packet.pts in plan.drop:
            return False
        # the setting travels with the packet to the decoding thread (frame threads)
        context.skip_frame = "DEFAULT" if packet.pts in plan.wanted else "NONREF"
        return True

    return before


class _NearestFrames:
    """The frame nearest each target, picked as decoded frames go by in time order.

    A target between two frames goes to the nearer (a tie: the earlier), so each frame is
    held until the next one shows whether it is the nearer; only picked frames are scaled.
    """

    def __init__(
        self, targets: np.ndarray, size: tuple[int, int], stream: av.video.stream.VideoStream
    ) -> None:
        self.targets, self.size, self.stream = targets, size, stream
        self.order = np.argsort(targets, kind="stable")
        self.k = 0  # targets served, in time order
        self.prev_frame: av.VideoFrame | None = None
        self.prev_rgb: np.ndarray | None = None
        self.prev_time = 0.0
        self.rotation = 0

    @property
    def done(self) -> bool:
        return self.k == len(self.order)

    def offer(self, frame: av.VideoFrame, t: float) -> Iterator[tuple[int, np.ndarray]]:
        """Serve the targets up to this frame's time: it or the frame before, whichever is
        nearer; then hold it as the frame before."""
        if self.prev_frame is None:
            self.rotation = _rotation_deg(frame, self.stream)
        rgb = None
        order, n = self.order, len(self.order)
        while self.k < n and self.targets[order[self.k]] <= t + _EPS:
            target = self.targets[order[self.k]]
            if self.prev_frame is not None and target - self.prev_time <= t - target + _EPS:
                if self.prev_rgb is None:
                    self.prev_rgb = _to_rgb(self.prev_frame, self.size, self.rotation)
                    yield int(order[self.k]), self.prev_rgb
                else:
                    yield int(order[self.k]), self.prev_rgb.copy()
            elif rgb is None:
                rgb = _to_rgb(frame, self.size, self.rotation)
                yield int(order[self.k]), rgb
            else:
                yield int(order[self.k]), rgb.copy()
            self.k += 1
        if not self.done:
            self.prev_frame, self.prev_rgb, self.prev_time = frame, rgb, t

    def rest(self, path: Path, max_overrun_s: float | None) -> Iterator[tuple[int, np.ndarray]]:
        """After the last frame: the targets past it get it (clamp), unless the latest lies
        more than ``max_overrun_s`` past it (TrailerError ``decode_error``)."""
        if self.prev_frame is None:
            raise TrailerError(path, "decode_error", "no video frame could be decoded")
        order, n, k = self.order, len(self.order), self.k
        # the latest target decides: a file cut short still has frames near the first ones
        latest = self.targets[order[n - 1]]
        overrun = latest - self.prev_time
        if max_overrun_s is not None and overrun > max_overrun_s:
            raise TrailerError(
                path,
                "decode_error",
                f"video ends at {self.prev_time:.2f} s, {overrun:.2f} s before target "
                f"{latest:.2f} s (truncated?)",
            )
        rgb = self.prev_rgb
        if rgb is None:
            rgb = _to_rgb(self.prev_frame, self.size, self.rotation)
        for j in range(k, n):
            yield int(order[j]), rgb if j == k and self.prev_rgb is None else rgb.copy()


def decode_frames(
    path: Path | str,
    timestamps: np.ndarray,
    size: tuple[int, int] = (224, 224),
    threads: int = 0,
    *,
    max_overrun_s: float | None = None,
    skip_nonref: bool = True,
    stats: dict | None = None,
) -> np.ndarray:
    """uint8 [len(timestamps), height, width, 3] in the order of ``timestamps`` (one pass).

    ``max_overrun_s``, ``skip_nonref``, ``stats``: see :func:`iter_frames_at` (None clamps
    late targets whatever the gap).
    """
    width, height = _check_size(size)
    targets = _as_targets(timestamps)
    out = np.empty((len(targets), height, width, 3), dtype=np.uint8)
    filled = np.zeros(len(targets), dtype=bool)
    frames = iter_frames_at(
        path,
        targets,
        (width, height),
        threads,
        max_overrun_s=max_overrun_s,
        skip_nonref=skip_nonref,
        stats=stats,
    )
    for index, rgb in frames:
        out[index] = rgb
        filled[index] = True
    if not filled.all():  # cannot happen: iter_frames_at clamps; guard the invariant
        raise TrailerError(path, "decode_error", f"{int((~filled).sum())} frames missing")
    return out
