"""Cold start of the inference-only install against a bare MediaPipe script, in one run.

Builds (once; reused while ``uv.lock`` is unchanged) an inference-only virtual environment
from the lock file under ``.cache/bench-inference-venv``: ``uv export --no-default-groups``
pinned exactly as locked, installed with ``uv pip install --no-deps``; the project itself is
reinstalled on every run.
It holds no TensorFlow or Keras. Then times, each in fresh processes from process start to the
answer on one photo:

* baseline: a bare script that runs MediaPipe Hands on the photo, in the project's full
  environment (this interpreter's; ``import mediapipe`` imports TensorFlow there);
* predict: ``hand-gesture predict --static-images`` on a folder holding the photo, in the
  inference-only environment;
* app: ``app.py``'s page built and served on localhost, then its photo handler answering the
  photo, in the inference-only environment;
* ``import gradio`` alone in the inference-only environment: the floor under the app's cold
  start, whatever the app does.

Prints the median of ``--repeats`` runs of each, the ratios to the baseline (the target is
<= 0.30), and the size of both environments.

    uv run python benchmarks/startup.py [--model DIR] [--photo JPG] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PHOTO = REPO.parent / "shared" / "data" / "webcam-sample" / "stop" / "120.jpg"
VENV = REPO / ".cache" / "bench-inference-venv"
GESTURES = [
    "01_palm", "02_l", "03_fist", "04_fist_moved", "05_thumb",
    "06_index", "07_ok", "08_palm_moved", "09_c", "10_down",
]  # fmt: skip

BASELINE = """
import sys
import cv2
import mediapipe as mp

image = cv2.imread(sys.argv[1])
with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=1) as hands:
    result = hands.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
print("hand found" if result.multi_hand_landmarks else "no hand")
"""

APP = """
import socket, sys, time
sys.path.insert(0, sys.argv[2])
import app

with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
demo = app.build_demo()
demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
started = time.perf_counter()
_, scores, status = app.recognize_image(sys.argv[1])
print(status)
print(f"first request {time.perf_counter() - started:.3f} s")
demo.close()
"""


def build_venv(uv: str) -> Path:
    """The inference-only environment, rebuilt when ``uv.lock`` changed."""
    stamp = VENV / "lock.sha256"
    digest = hashlib.sha256((REPO / "uv.lock").read_bytes()).hexdigest()
    env = {**os.environ, "VIRTUAL_ENV": str(VENV)}
    if stamp.is_file() and stamp.read_text() == digest:
        # The project itself, as it is now (the lock's packages stay).
        subprocess.run(
            [uv, "pip", "install", "-q", "--no-deps", "--reinstall", str(REPO)], env=env, check=True
        )
        return VENV
    shutil.rmtree(VENV, ignore_errors=True)
    requirements = subprocess.run(
        [uv, "export", "--frozen", "--no-default-groups", "--no-hashes", "--no-emit-project",
         "--format", "requirements.txt"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    subprocess.run([uv, "venv", "-q", "--python", python, str(VENV)], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write(requirements)
    try:
        subprocess.run(
            [uv, "pip", "install", "-q", "--no-deps", "-r", handle.name], env=env, check=True
        )
    finally:
        os.unlink(handle.name)
    subprocess.run([uv, "pip", "install", "-q", "--no-deps", str(REPO)], env=env, check=True)
    stamp.write_text(digest)
    return VENV


def size_gb(venv: Path) -> float:
    """Bytes of the environment's files, in GB (hard links counted once)."""
    seen, total = set(), 0
    for path in venv.rglob("*"):
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total / 1e9


def timed(command: list[str], env: dict[str, str], expect: str) -> tuple[float, str]:
    """Seconds from process start to exit, and the standard output."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or expect not in done.stdout + done.stderr:
        raise SystemExit(
            f"{' '.join(command[:3])} ...: failed (exit {done.returncode}):\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return elapsed, done.stdout


def make_model(directory: Path) -> Path:
    """The original architecture, untrained, saved with its exports (timing only)."""
    from hand_gesture_recognition.config import RunConfig
    from hand_gesture_recognition.model import build_model, save_model

    save_model(directory, build_model(len(GESTURES)), GESTURES, RunConfig())
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model directory (default: untrained)")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.photo.is_file():
        print(f"benchmarks/startup.py: error: {args.photo}: photo not found", file=sys.stderr)
        return 2
    uv = shutil.which("uv")
    if uv is None:
        print(
            "benchmarks/startup.py: error: uv is needed to build the environment", file=sys.stderr
        )
        return 2
    venv = build_venv(uv)
    light = venv / "bin" / "python"
    probe = subprocess.run(
        [str(light), "-c", "import importlib.util as u; print(u.find_spec('tensorflow'), "
         "u.find_spec('keras'))"], capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert probe == ["None", "None"], f"the inference environment has TensorFlow/Keras: {probe}"

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "GLOG_minloglevel": "2"}
    env.update(GRADIO_ANALYTICS_ENABLED="False", MPLBACKEND="Agg")
    with tempfile.TemporaryDirectory(prefix="hgr-startup-") as tmp:
        tmp = Path(tmp)
        model = args.model or make_model(tmp / "model")
        folder = tmp / "photos"
        folder.mkdir()
        shutil.copy(args.photo, folder / args.photo.name)
        jsonl = tmp / "out.jsonl"
        runs = {
            "bare MediaPipe Hands script (full env)": (
                [sys.executable, "-c", BASELINE, str(args.photo)], "hand", env
            ),
            "hand-gesture predict (inference env)": (
                [str(venv / "bin" / "hand-gesture"), "predict", "--model-dir", str(model),
                 "--source", str(folder), "--static-images", "--no-display",
                 "--jsonl", str(jsonl), "--force"], "", env,
            ),
            "import gradio alone (inference env)": (
                [str(light), "-c", "import gradio; print('imported')"], "imported", env,
            ),
            "app.py first answer (inference env)": (
                [str(light), "-c", APP, str(args.photo), str(REPO)], "",
                {**env, "HGR_MODEL_DIR": str(model)},
            ),
        }  # fmt: skip
        times: dict[str, Any] = {}
        requests: list[float] = []
        for _ in range(args.repeats):
            # Interleaved, so that a change in the machine's load hits every case alike.
            for name, (command, expect, run_env) in runs.items():
                elapsed, stdout = timed(command, run_env, expect)
                times.setdefault(name, []).append(elapsed)
                requests += [
                    float(line.split()[2])
                    for line in stdout.splitlines()
                    if line.startswith("first request")
                ]
        for name, samples in list(times.items()):
            times[name] = statistics.median(samples)
            runs_text = ", ".join(f"{s:.2f}" for s in samples)
            print(f"{name:42s} {times[name]:6.2f} s  (runs: {runs_text})")
        request = statistics.median(requests)
        print(f"{'app.py first request, server already up':42s} {request:6.2f} s")
        answer = json.loads(jsonl.read_text().splitlines()[0])
        print(f"predict answered: {answer.get('label')!r}")
    baseline = times["bare MediaPipe Hands script (full env)"]
    for name, value in [*list(times.items())[1:], ("app.py first request", request)]:
        print(f"ratio {name:36s} {value / baseline:5.2f}x the baseline (target <= 0.30)")
    full = Path(sys.prefix)
    print(f"environment size: full {size_gb(full):.2f} GB ({full}), "
          f"inference-only {size_gb(venv):.2f} GB ({venv})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
