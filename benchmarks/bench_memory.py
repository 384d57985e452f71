"""Peak memory of training on an LMTD-9-sized float16 array: memory-mapped vs loaded in RAM.

    .venv/bin/python benchmarks/bench_memory.py [--trailers 4021] [--frames 240] [--dim 2048]
                                                [--steps 20] [--models cnn1d,gru_merge]

Writes a float16 .npy [trailers, frames, dim] (4,021 x 240 x 2048 = 3.95 GB, the padded array
`build_dataset` writes) chunk by chunk with `np.lib.format.open_memmap` in a temporary folder,
so the whole array is never in RAM: CNN-like pseudo-features (ReLU of a smooth low-rank
product, 99-240 frames per trailer, zero-padded), random labels [N, 9] and splits
2874/374/773. Then, each in a fresh process so that its peak RSS is its own:

- memmap, per model: `np.load(mmap_mode="r")`, `train_model(epochs=1)` on `--steps` batches
  (a random subset of steps x batch_size train rows) validating on `--valid-rows` rows, then
  `predict_probabilities` over `--predict-rows` rows;
- in RAM (the comparison), first model only: the same with `np.load` without a memmap.

Every process samples its own memory in a thread (psutil RSS, plus RssAnon/RssFile from
/proc/self/status, every 20 ms) and reports VmHWM and ru_maxrss at the end. RSS counts the
file pages a memmap has touched (RssFile): they are page cache, shared and reclaimable, so the
anonymous part (RssAnon) is what training itself holds. (On recent kernels with large page
cache folios, e.g. 6.18 on ext4, a memmap maps whole folios around each row it reads, so
RssFile grows by more than the rows read: the table shows both.) The baseline is the RSS after
`import tensorflow` and building the model, before the array is opened. Times per step come
from a callback on the training batches: the first (tracing) apart, the median of the rest.
The temporary folder is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result, figure, print_table, ratio  # noqa: E402

LMTD_TRAILERS = 4021
LMTD_SPLITS = (2874, 374, 773)  # train, valid, test
N_GENRES = 9
MIB = 2**20


# ---------------------------------------------------------------- memory sampling (children)


def _status_kib(*keys: str) -> dict[str, int]:
    """Fields of /proc/self/status in KiB (0 where absent, e.g. not Linux)."""
    found = dict.fromkeys(keys, 0)
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in found:
                    found[key] = int(rest.split()[0])
    except OSError:
        pass
    return found


class MemorySampler(threading.Thread):
    """Peak RSS / RssAnon / RssFile (MiB) of this process, overall and per named phase."""

    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.phase = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self._halt = threading.Event()

    def sample(self) -> dict[str, float]:
        rss = self.process.memory_info().rss / MIB
        status = _status_kib("RssAnon", "RssFile", "RssShmem")
        values = {
            "rss": rss,
            "anon": status["RssAnon"] / 1024,
            "file": (status["RssFile"] + status["RssShmem"]) / 1024,
        }
        for name in ("all", self.phase):
            peak = self.peaks.setdefault(name, dict.fromkeys(values, 0.0))
            for key, value in values.items():
                peak[key] = max(peak[key], value)
        return values

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            time.sleep(self.interval)

    def enter(self, phase: str) -> dict[str, float]:
        """Sample now (closing the previous phase), then count samples toward `phase`."""
        now = self.sample()
        self.phase = phase
        self.sample()
        return now

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()


def _peak_vmhwm_mib() -> float:
    return _status_kib("VmHWM")["VmHWM"] / 1024


# ---------------------------------------------------------------- fabricating the data set


def split_sizes(trailers: int) -> tuple[int, int, int]:
    """LMTD-9's 2874/374/773, scaled to `trailers` when that is not 4,021."""
    if trailers == LMTD_TRAILERS:
        return LMTD_SPLITS
    train = round(trailers * LMTD_SPLITS[0] / LMTD_TRAILERS)
    valid = round(trailers * LMTD_SPLITS[1] / LMTD_TRAILERS)
    return train, valid, trailers - train - valid


def fabricate(work: Path, trailers: int, frames: int, dim: int, seed: int) -> dict:
    """visual.npy (float16, filled chunk by chunk), labels.npy, split.npy under `work`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rank, chunk = 24, 32
    loadings = rng.standard_normal((rank, dim)).astype(np.float32) / np.sqrt(rank)
    bias = rng.normal(-0.1, 0.3, size=dim).astype(np.float32)
    scale = rng.gamma(2.0, 0.5, size=dim).astype(np.float32)  # channels differ in range
    low = min(99, frames)
    n_frames = rng.integers(low, frames + 1, size=trailers)  # LMTD-9: 99-240 frames

    path = work / "visual.npy"
    visual = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float16, shape=(trailers, frames, dim)
    )
    for start in range(0, trailers, chunk):
        count = min(chunk, trailers - start)
        # smooth latent path: moving average of 5 over time, plus a jump at each scene cut
        steps = rng.standard_normal((count, frames + 4, rank)).astype(np.float32)
        summed = np.concatenate([np.zeros((count, 1, rank), np.float32), steps.cumsum(1)], 1)
        path_ = (summed[:, 5:] - summed[:, :-5]) / 5
        shot = np.cumsum(rng.random((count, frames)) < 0.1, axis=1)
        jumps = rng.standard_normal((count, frames + 1, rank)).astype(np.float32)
        path_ += np.take_along_axis(jumps, shot[..., None], axis=1)
        feats = np.maximum(path_ @ loadings + bias, 0.0) * scale
        feats[np.arange(frames)[None, :] >= n_frames[start : start + count, None]] = 0.0
        visual[start : start + count] = feats.astype(np.float16)
    visual.flush()
    del visual

    labels = (rng.random((trailers, N_GENRES)) < 0.25).astype(np.float32)
    labels[np.arange(trailers), rng.integers(0, N_GENRES, trailers)] = 1.0
    train, valid, _ = split_sizes(trailers)
    split = np.full(trailers, 2, dtype=np.int8)  # 0 train, 1 valid, 2 test
    order = rng.permutation(trailers)
    split[order[:train]] = 0
    split[order[train : train + valid]] = 1
    np.save(work / "labels.npy", labels)
    np.save(work / "split.npy", split)
    return {"bytes": path.stat().st_size}


# ---------------------------------------------------------------- one training run (child)


def train_child(args: argparse.Namespace) -> dict:
    """Baseline, open the array, train on --steps batches, predict; memory and times."""
    sampler = MemorySampler()
    sampler.start()
    sampler.enter("imports")
    import numpy as np  # noqa: F401 (imported before the baseline on purpose)
    import tensorflow  # noqa: F401

    from moviegenre.models import train as train_mod
    from moviegenre.models.architectures import build_model
    from moviegenre.models.train import load_model, predict_probabilities, train_model

    work = Path(args.work)
    labels = np.load(work / "labels.npy")
    split = np.load(work / "split.npy")
    from moviegenre.config import load_params

    # params.yaml's hyperparameters for the model; one epoch, the benchmark's batch and seed
    section = load_params(Path(__file__).resolve().parents[1] / "params.yaml")["train"]
    overrides = {"epochs": 1, "batch_size": args.batch_size, "seed": args.seed, "patience": 0}
    params = train_mod.resolve_params(args.model, {**section, **overrides})
    model = build_model(args.model, args.frames, args.dim, N_GENRES, params)
    n_params = model.count_params()
    del model
    import gc

    gc.collect()
    time.sleep(0.1)
    baseline = sampler.enter("open")

    start = time.perf_counter()
    if args.mode == "mmap":
        features = np.load(work / "visual.npy", mmap_mode="r")
    else:
        features = np.load(work / "visual.npy")
    open_s = time.perf_counter() - start
    after_open = sampler.enter("train")

    rng = np.random.default_rng(args.seed)
    train_rows = np.flatnonzero(split == 0)
    valid_rows = np.flatnonzero(split == 1)
    n_train = min(len(train_rows), args.steps * args.batch_size)
    train_idx = np.sort(rng.choice(train_rows, size=n_train, replace=False))
    valid_idx = np.sort(
        rng.choice(valid_rows, size=min(len(valid_rows), args.valid_rows), replace=False)
    )

    batch_ends: list[float] = []
    epoch_start: list[float] = []

    class TimedEpochLog(train_mod._EpochLog):
        """train.py's per-epoch log line, plus the time at the end of each training batch."""

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            super().on_epoch_begin(epoch, logs)
            epoch_start.append(time.perf_counter())

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            batch_ends.append(time.perf_counter())

    train_mod._EpochLog = TimedEpochLog  # train_model looks the class up when it runs
    model_path = work / f"{args.model}-{args.mode}.keras"
    start = time.perf_counter()
    train_model(args.model, features, labels, train_idx, valid_idx, params, args.frames, model_path)
    train_s = time.perf_counter() - start
    marks = epoch_start[:1] + batch_ends
    step_times = [b - a for a, b in zip(marks, marks[1:], strict=False)]

    sampler.enter("predict")
    model = load_model(model_path)
    all_rows = np.arange(len(labels))
    n_pred = min(len(all_rows), args.predict_rows)
    pred_idx = np.sort(rng.choice(all_rows, size=n_pred, replace=False))
    start = time.perf_counter()
    probs = predict_probabilities(model, features, pred_idx, args.frames)
    predict_s = time.perf_counter() - start
    assert probs.shape == (n_pred, N_GENRES) and np.isfinite(probs).all()
    read_rows = np.union1d(np.union1d(train_idx, valid_idx), pred_idx).size
    sampler.stop()

    return {
        "model": args.model,
        "mode": args.mode,
        "params": n_params,
        "baseline": baseline,
        "after_open": after_open,
        "open_s": open_s,
        "peaks": sampler.peaks,
        "vmhwm_mib": _peak_vmhwm_mib(),
        "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "train_rows": int(n_train),
        "valid_rows": int(len(valid_idx)),
        "steps": len(step_times),
        "step_times": step_times,
        "train_s": train_s,
        "predict_rows": int(n_pred),
        "predict_s": predict_s,
        "read_mib": read_rows * args.frames * args.dim * 2 / MIB,
    }


# ---------------------------------------------------------------- parent


def _child(args: argparse.Namespace, work: Path, what: str, *extra: str) -> dict:
    command = [
        sys.executable, __file__, "--child", what, "--work", str(work),
        "--trailers", str(args.trailers), "--frames", str(args.frames), "--dim", str(args.dim),
        "--steps", str(args.steps), "--batch-size", str(args.batch_size),
        "--valid-rows", str(args.valid_rows), "--predict-rows", str(args.predict_rows),
        "--seed", str(args.seed), *extra,
    ]  # fmt: skip
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _file_above_baseline(run: dict) -> float:
    """Peak file-backed RSS over the baseline's (TensorFlow's shared libraries): the pages of
    the array a memmap has touched (in RAM: ~0, np.load reads the file with read())."""
    return run["peaks"]["all"]["file"] - run["baseline"]["file"]


def _describe(run: dict) -> str:
    steps = run["step_times"]
    rest = statistics.median(steps[1:]) if len(steps) > 1 else float("nan")
    peak = run["peaks"]["all"]
    return (
        f"{run['model']:<10} {run['mode']:<5} {run['baseline']['rss']:>8,.0f} "
        f"{run['baseline']['anon']:>9,.0f} {run['after_open']['rss']:>9,.0f} "
        f"{run['vmhwm_mib']:>7,.0f} {run['ru_maxrss_mib']:>9,.0f} {peak['rss']:>8,.0f} "
        f"{peak['anon']:>9,.0f} {_file_above_baseline(run):>7,.0f} {run['read_mib']:>6,.0f} "
        f"{run['open_s']:>6.2f} "
        f"{steps[0]:>7.2f} {rest:>6.2f} {run['train_s']:>7.1f} "
        f"{run['predict_rows'] / run['predict_s']:>6.1f}"
    )


def run(args: argparse.Namespace) -> list[Result]:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    tmp_root = args.tmp_dir or None
    with tempfile.TemporaryDirectory(prefix="bench-memory-", dir=tmp_root) as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        made = _child(args, work, "fabricate")
        splits = "/".join(str(n) for n in split_sizes(args.trailers))
        print(
            f"wrote {work / 'visual.npy'}: float16 [{args.trailers}, {args.frames}, {args.dim}] "
            f"= {made['bytes'] / 1e9:.2f} GB in {time.perf_counter() - start:.0f} s "
            f"(writer's peak RSS {made['vmhwm_mib']:,.0f} MiB, of which anonymous "
            f"{made['peak_anon_mib']:,.0f} MiB); splits {splits}",
            flush=True,
        )
        runs = []
        plan = [(m, "mmap") for m in models] + [(models[0], "ram")]
        for model, mode in plan:
            start = time.perf_counter()
            print(f"  {model} ({mode}) ...", flush=True)
            runs.append(_child(args, work, "train", "--model", model, "--mode", mode))
            print(f"    done in {time.perf_counter() - start:.0f} s", flush=True)

    print(
        f"\nper run, MiB: RSS before opening the array (baseline: tensorflow imported, model "
        f"built) and after; peak RSS as VmHWM, ru_maxrss and sampled; peak RssAnon; peak "
        f"RssFile above the baseline's (memmap pages); read = the distinct array rows read. "
        f"{args.steps} training steps of "
        f"{args.batch_size} rows, {args.valid_rows} valid rows, predict {args.predict_rows} rows; "
        f"step1 = first step (tracing), step = median of the rest, pred/s = rows per second"
    )
    print(
        f"{'model':<10} {'mode':<5} {'baseline':>8} {'base anon':>9} {'afteropen':>9} "
        f"{'VmHWM':>7} {'ru_maxrss':>9} {'peak rss':>8} {'peak anon':>9} {'file+':>7} {'read':>6} "
        f"{'open s':>6} {'step1 s':>7} {'step s':>6} {'train s':>7} {'pred/s':>6}"
    )
    for item in runs:
        print(_describe(item))

    mm, ram = runs[0], runs[-1]
    first = models[0]
    results = [
        ratio("memory", f"in-RAM / memmap peak RSS ({first} training)",
              ram["vmhwm_mib"] / mm["vmhwm_mib"]),
        ratio("memory", f"in-RAM / memmap peak anonymous RSS ({first})",
              ram["peaks"]["all"]["anon"] / mm["peaks"]["all"]["anon"]),
    ]  # fmt: skip
    for item in runs[:-1]:
        name = item["model"]
        results += [
            figure("memory", f"memmap training peak RSS, {name}", item["vmhwm_mib"], "MiB"),
            figure("memory", f"memmap training peak anonymous RSS, {name}",
                   item["peaks"]["all"]["anon"], "MiB"),
            figure("memory", f"memmap pages in RSS at peak (page cache), {name}",
                   _file_above_baseline(item), "MiB"),
            figure("memory", f"distinct array rows read by the run, {name}",
                   item["read_mib"], "MiB"),
            figure("memory", f"baseline RSS (import tf + model built), {name}",
                   item["baseline"]["rss"], "MiB"),
            figure("memory", f"memmap time per step (median), {name}",
                   statistics.median(item["step_times"][1:]), "s"),
        ]  # fmt: skip
    results += [
        figure("memory", f"in-RAM training peak RSS, {first}", ram["vmhwm_mib"], "MiB"),
        figure("memory", f"in-RAM RSS after np.load, {first}", ram["after_open"]["rss"], "MiB"),
        figure("memory", f"in-RAM time per step (median), {first}",
               statistics.median(ram["step_times"][1:]), "s"),
        figure("memory", "np.load of the whole array (page cache warm)", ram["open_s"], "s"),
    ]  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trailers", type=int, default=LMTD_TRAILERS)
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=20, help="training batches per run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--valid-rows", type=int, default=64)
    parser.add_argument("--predict-rows", type=int, default=1000)
    parser.add_argument("--models", default="cnn1d,gru_merge", help="first one also runs in RAM")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tmp-dir", type=Path, help="where the temporary folder goes")
    parser.add_argument("--child", choices=["fabricate", "train"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["mmap", "ram"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.trailers, args.frames, args.dim, args.steps, args.batch_size) < 1:
        parser.error("sizes and --steps must be >= 1")
    if args.steps < 2:
        parser.error("--steps must be >= 2 (the first step traces and is reported apart)")

    if args.child == "fabricate":
        sampler = MemorySampler()
        sampler.start()
        made = fabricate(args.work, args.trailers, args.frames, args.dim, args.seed)
        sampler.stop()
        made.update(vmhwm_mib=_peak_vmhwm_mib(), peak_anon_mib=sampler.peaks["all"]["anon"])
        print(json.dumps(made))
        return []
    if args.child == "train":
        print(json.dumps(train_child(args)))
        return []

    results = run(args)
    print_table(results, title="MEMORY BENCHMARK")
    return results


if __name__ == "__main__":
    main()
