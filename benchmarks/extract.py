"""Throughput of `hand-gesture extract` against a plain MediaPipe loop, in one run.

Prints frames per second of landmark extraction on the LeapGestRecog sample with 1 and 2 worker
processes, with the Ray engine (Ray started on this machine, one actor per core), and of a plain
single-process loop over ``mp.solutions.hands`` doing the same work (read the frame, stretch it
to square pixels, run Hands in static-image mode), and the ratios. The targets: the 2-worker run
at least 1.8x the plain loop, and the Ray engine at least 0.7x the 2-worker run.

For the scaling model it also prints the Ray run's steady rate (frames/s between its first and
last block, without starting Ray and its actors), its start-up time, and Ray's cost per block
measured with actors that do nothing.

Each measurement runs in a fresh process that imports MediaPipe before the clock starts, as
the ``hand-gesture extract`` command does before it extracts; the extraction's own costs
(starting workers, building their graphs, writing the file) are timed.

    uv run python benchmarks/extract.py [--data DIR] [--frames N] [--extractor NAME] [--no-ray]

Ray's workers each import Ray when they start, and Ray imports jsonschema, whose format checker
imports ``rfc3987_syntax`` when it is installed: that builds dozens of parsers at import
(jsonschema issue 1428) and is installed here by Jupyter (the ``notebook`` extra, in the dev
environment), not by the ``cluster`` extra. So for what a cluster node runs, measure in an
environment with the ``cluster`` extra only; the header prints the cost of ``import ray`` in
the environment used:

    UV_PROJECT_ENVIRONMENT=.venv-cluster uv run --no-dev --extra cluster \
        python benchmarks/extract.py
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "leapgestrecog-sample"


def subset_tree(data: Path, frames: int, target: Path) -> Path:
    """Links the first ``frames`` frames of each recording into ``target``."""
    from hand_gesture_recognition.dataset import find_recordings

    for recording in find_recordings(data):
        folder = target / recording.subject / recording.gesture
        folder.mkdir(parents=True, exist_ok=True)
        for frame in recording.frames[:frames]:
            (folder / frame.name).symlink_to(frame.resolve())
    return target


def time_extract(tree: Path, workers: int, extractor: str, scratch: Path) -> tuple[float, int]:
    from hand_gesture_recognition.landmarks import extract_landmarks

    out = scratch / f"{extractor}-{workers}.npz"
    started = time.perf_counter()
    summary = extract_landmarks(tree, out, extractor=extractor, workers=workers, progress=False)
    return time.perf_counter() - started, summary.frames


class _Clock:
    """A stand-in progress bar that notes when each block of results arrived."""

    def __init__(self) -> None:
        self.times: list[tuple[float, int]] = []

    def update(self, frames: int) -> None:
        self.times.append((time.perf_counter(), frames))


def time_ray(
    tree: Path, actors: int, extractor: str, scratch: Path, address: str | None = None
) -> dict:
    """Times the Ray engine end to end: join or start Ray, its actors, extract, write the file."""
    from hand_gesture_recognition.cluster import RayEngine
    from hand_gesture_recognition.landmarks import extract_landmarks

    out = scratch / f"{extractor}-ray-{'joined' if address else 'local'}.npz"
    clock = _Clock()
    started = time.perf_counter()
    with RayEngine(address=address, actors=actors).session() as engine:
        connected = time.perf_counter()

        def timed(recordings, name, options, keep, bar):
            engine(recordings, name, options, keep, clock)

        summary = extract_landmarks(tree, out, extractor=extractor, engine=timed, progress=False)
        finished = time.perf_counter()
        overhead = ray_block_overhead()
    gather = driver_gather_rate()
    (first, first_frames), (last, _) = clock.times[0], clock.times[-1]
    return {
        "seconds": finished - started,
        "frames": summary.frames,
        "start_s": connected - started,
        "first_block_s": first - started,
        "steady_fps": (sum(n for _, n in clock.times) - first_frames) / max(last - first, 1e-9),
        "block_overhead_ms": overhead * 1000,
        "driver_fps": gather,
    }


def driver_gather_rate(recordings: int = 100, frames: int = 200, block: int = 32) -> float:
    """Frames per second the driver turns actor results into recording tables (CPU only)."""
    import numpy as np

    from hand_gesture_recognition.cluster import _gather
    from hand_gesture_recognition.dataset import Recording

    listed = [
        Recording("s", f"g{r}", tuple(Path(f"/data/g{r}/{i:04d}.png") for i in range(frames)))
        for r in range(recordings)
    ]
    batches = []
    for r in range(recordings):
        for start in range(0, frames, block):
            n = min(block, frames - start)
            batches.append(
                {
                    "recording": np.full(n, r),
                    "frame": np.arange(start, start + n),
                    "status": np.zeros(n, np.int8),
                    "detected": np.ones(n, bool),
                    "landmarks": np.random.rand(n, 21, 3).astype(np.float32),
                    "score": np.ones(n, np.float32),
                    "aspect": np.ones(n, np.float32),
                    "node": np.array(["n"] * n),
                }
            )
    started = time.perf_counter()
    _gather(iter(batches), listed, lambda *args, **kwargs: None, _Clock())
    return recordings * frames / (time.perf_counter() - started)


class _Nothing:
    def extract(self, block):
        return block


def ray_block_overhead(blocks: int = 400) -> float:
    """Seconds Ray spends per block through a 2-actor pool whose actors do nothing."""
    import numpy as np
    import ray
    import ray.util

    remote = ray.remote(num_cpus=1)(_Nothing)
    pool = ray.util.ActorPool([remote.remote() for _ in range(2)])
    tables = [{"x": np.array([i])} for i in range(blocks)]
    list(pool.map_unordered(lambda actor, block: actor.extract.remote(block), tables[:4]))
    started = time.perf_counter()
    count = sum(1 for _ in pool.map_unordered(lambda a, b: a.extract.remote(b), tables))
    return (time.perf_counter() - started) / count


def ray_import_cost() -> str:
    """How long ``import ray`` takes in a fresh process here, and why it may be slow."""
    code = "import time; t = time.perf_counter(); import ray; print(time.perf_counter() - t)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        return "Ray is not installed"
    slow = importlib.util.find_spec("rfc3987_syntax") is not None
    return f"{float(result.stdout.split()[-1]):.2f} s" + (
        " (rfc3987_syntax installed: jsonschema builds its parsers at import)" if slow else ""
    )


def time_plain_loop(tree: Path) -> tuple[float, int]:
    import cv2
    import mediapipe as mp

    from hand_gesture_recognition.dataset import find_recordings

    files = [f for r in find_recordings(tree) for f in r.frames]
    started = time.perf_counter()
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=1) as hands:
        for path in files:
            image = cv2.imread(str(path))
            image = cv2.resize(image, (image.shape[1], image.shape[0] * 2))
            hands.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return time.perf_counter() - started, len(files)


@contextlib.contextmanager
def ray_head(cpus: int):
    """A Ray head on 127.0.0.1 started with ``ray start``, as a cluster would be; its address.

    Ended afterwards by ending the processes it started (never ``ray stop``, which would end
    every Ray process on the machine).
    """
    temp_dir = Path(tempfile.mkdtemp(prefix="hgr-bench-ray-", dir="/tmp"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        str(Path(sys.executable).parent / "ray"), "start", "--head",
        "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}",
        "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}",
    ]  # fmt: skip
    # The head and its drivers share a token of their own, whatever ~/.ray holds.
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    starters = []
    try:
        # Ray gives its dashboard agent 15 s to start, which a busy machine can miss: one retry.
        for attempt in range(2):
            starter = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True,
            )  # fmt: skip
            starters.append(starter)
            output, _ = starter.communicate(timeout=300)
            if starter.returncode == 0:
                break
            if attempt == 1:
                raise SystemExit(f"benchmarks/extract.py: error: ray start failed:\n{output}")
        time.sleep(5.0)  # Let the head's start-up work settle, as on a cluster that is up.
        yield f"127.0.0.1:{port}"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for starter in starters:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(starter.pid, sig)
            for proc in Path("/proc").iterdir():
                with contextlib.suppress(OSError, ValueError):
                    if str(temp_dir).encode() in (proc / "cmdline").read_bytes():
                        os.kill(int(proc.name), sig)
            time.sleep(1.0)
        shutil.rmtree(temp_dir, ignore_errors=True)
        for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
            os.environ.pop(name, None)


def measure(
    kind: str, tree: Path, workers: int, extractor: str, scratch: Path, address: str = ""
) -> dict:
    """Runs one measurement in a fresh Python process and returns its result."""
    command = [
        sys.executable,
        __file__,
        "--measure",
        kind,
        "--tree",
        str(tree),
        "--workers",
        str(workers),
        "--extractor",
        extractor,
        "--scratch",
        str(scratch),
        "--ray-address",
        address,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"benchmarks/extract.py: error: the {kind} run failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _measure_here(args: argparse.Namespace) -> int:
    from hand_gesture_recognition.extractor import import_mediapipe

    import_mediapipe()  # Imported before timing, as the command does.

    if args.measure == "plain":
        seconds, frames = time_plain_loop(args.tree)
    elif args.measure == "ray":
        from hand_gesture_recognition.cluster import import_ray

        # Imported before timing, and the way the command imports it: Ray reads its settings
        # when it is imported, and a plain `import ray` here would let a driver started by
        # `uv run` have Ray start every worker through `uv run` in a packed-up copy of this
        # folder (RAY_ENABLE_UV_RUN_RUNTIME_ENV), which the command switches off.
        import_ray()

        address = args.ray_address or None
        print(json.dumps(time_ray(args.tree, args.workers, args.extractor, args.scratch, address)))
        return 0
    else:
        seconds, frames = time_extract(args.tree, args.workers, args.extractor, args.scratch)
    print(json.dumps({"seconds": seconds, "frames": frames}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--frames", type=int, default=130, help="frames per recording")
    parser.add_argument(
        "--extractor",
        default="mediapipe",
        help="extractor timed for the worker runs (default: mediapipe, the "
        "same work as the plain loop)",
    )
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray engine")
    parser.add_argument("--measure", choices=("extract", "plain", "ray"), help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ray-address", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return _measure_here(args)
    if not args.data.is_dir():
        print(f"benchmarks/extract.py: error: {args.data}: sample data not found", file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    print(f"cores: {cores}; data: {args.data} ({args.frames} frames per recording)")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.no_ray:
        print(f"import ray in a fresh process: {ray_import_cost()}")
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        tree = subset_tree(args.data, args.frames, scratch / "tree")
        rows = {}
        for workers in (1, 2):
            name = f"extract --extractor {args.extractor} --workers {workers}"
            rows[name] = measure("extract", tree, workers, args.extractor, scratch)
        rows["plain loop over mp.solutions.hands"] = measure("plain", tree, 1, "", scratch)
        ray_name = f"extract --extractor {args.extractor} --engine ray ({cores} actors)"
        joined_name = f"extract ... --engine ray --ray-address (running, {cores} actors)"
        if not args.no_ray:
            try:
                rows[ray_name] = measure("ray", tree, cores, args.extractor, scratch)
            except SystemExit as error:  # Ray can fail to start on a busy machine.
                print(f"{ray_name}: {str(error).splitlines()[-1]}")
            with ray_head(cores) as address:
                rows[joined_name] = measure("ray", tree, cores, args.extractor, scratch, address)
    plain = rows["plain loop over mp.solutions.hands"]
    baseline = plain["frames"] / plain["seconds"]
    print(f"{'run':<48} {'frames':>7} {'seconds':>8} {'frames/s':>9} {'vs plain':>9}")
    for name, row in rows.items():
        fps = row["frames"] / row["seconds"]
        print(
            f"{name:<48} {row['frames']:>7} {row['seconds']:>8.2f} {fps:>9.1f} "
            f"{fps / baseline:>8.2f}x"
        )
    two = rows[f"extract --extractor {args.extractor} --workers 2"]
    ratio = (two["frames"] / two["seconds"]) / baseline
    print(
        f"2 workers vs plain loop: {ratio:.2f}x (target >= 1.8x): "
        f"{'met' if ratio >= 1.8 else 'NOT met'}"
    )
    local_fps = two["frames"] / two["seconds"]
    for name, what in ((ray_name, "starting Ray here"), (joined_name, "joining a running cluster")):
        if name not in rows:
            continue
        ray = rows[name]
        versus = (ray["frames"] / ray["seconds"]) / local_fps
        print(
            f"Ray engine, {what}, vs 2 workers: {versus:.2f}x, overhead included "
            f"(target >= 0.7x): {'met' if versus >= 0.7 else 'NOT met'}"
        )
        print(
            f"  start {ray['start_s']:.1f} s, first block after {ray['first_block_s']:.1f} s, "
            f"then {ray['steady_fps']:.1f} frames/s ({ray['steady_fps'] / cores:.1f} per actor "
            f"and core); Ray's cost per block: {ray['block_overhead_ms']:.1f} ms; the "
            f"driver gathers {ray['driver_fps']:,.0f} frames/s"
        )
        # Ray costs a fixed start-up, then runs at its steady rate: the frames from which it
        # reaches 0.7x the 2 workers (who start in well under a second).
        steady = ray["steady_fps"] / local_fps
        if steady > 0.7:
            frames = 0.7 * ray["first_block_s"] * local_fps / (1 - 0.7 / steady)
            print(
                f"  steady rate {steady:.2f}x the 2 workers'; with its start-up it reaches "
                f"0.7x from about {frames:,.0f} frames"
            )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
