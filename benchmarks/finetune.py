"""Fine-tuning on a few short takes: its time against the 60 s target, and what to freeze.

Built from the LeapGestRecog sample (``../shared/data/leapgestrecog-sample``: subject 00,
10 gestures, one 130-frame recording each), as a user adding their own gestures would:

* **Base model**: trained on seven gestures (time split), as ``hand-gesture train`` writes
  it; made once per gesture set and kept in ``--work``.
* **Takes**: each recording of the three other gestures (``--new``; by default
  ``03_fist``, ``04_fist_moved`` and ``08_palm_moved``) cut into four takes, frames 0-31,
  32-63, 64-95 and 96-129 (32-34 frames).
  In each fold three takes per gesture fine-tune (``--split none``: one of them validates)
  and the fourth is held out; its windows are the accuracy's test.

It prints:

1. **Time**: ``hand-gesture train --landmarks takes.npz --init BASE`` in a fresh process
   (3 gestures x 3 takes; the whole command: imports, fine-tuning, calibration, the .h5,
   .tflite and .onnx exports, reports) against the 60 s target, and the seconds inside
   ``train_model``. Then it runs the fine-tuned directory through ``predict``'s loader
   (LiteRT) on the held-out take.
2. **What to freeze**: accuracy on the held-out takes (mean +- sd over folds and seeds) of
   (a) fine-tuning with the LSTM layers frozen, (b) every layer trained (learning rates
   1e-3 and 1e-4), and (c) a fresh model trained on the same takes.

    uv run python benchmarks/finetune.py [--new G1 G2 G3] [--seeds 0 1 2] [--folds 4]
        [--work DIR] [--skip-compare]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")

from hand_gesture_recognition.config import (  # noqa: E402 - after the log settings.
    FinetuneConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
)
from hand_gesture_recognition.dataset import LEAPGESTRECOG_GESTURES  # noqa: E402
from hand_gesture_recognition.evaluate import evaluate_model  # noqa: E402
from hand_gesture_recognition.landmark_file import LandmarkTable  # noqa: E402
from hand_gesture_recognition.landmarks import extract_landmarks  # noqa: E402
from hand_gesture_recognition.model import LoadedModel, load_classifier  # noqa: E402
from hand_gesture_recognition.record import cut_takes, split_takes  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "leapgestrecog-sample"
GESTURES = LEAPGESTRECOG_GESTURES
#: The new gestures by default: two that differ only in motion (fist, moved fist) and one
#: like a base gesture (palm); 08_palm_moved, 09_c and 10_down were too easy to tell apart
#: (every method 1.000 but one run).
NEW_GESTURES = ("03_fist", "04_fist_moved", "08_palm_moved")
#: First frame of each take; the last take runs to the recording's end.
TAKE_STARTS = (0, 32, 64, 96)
TARGET_SECONDS = 60.0


def sample_landmarks(work: Path) -> Path:
    """The sample's landmarks (``auto`` extractor), extracted once and reused.

    Extracted again when the frames or the settings changed (the file is this benchmark's own
    cache, so it is replaced).
    """
    out = work / "sample.npz"
    summary = extract_landmarks(DATA, out, extractor="auto", workers=2, progress=False, force=True)
    print(f"{'reused' if summary.reused else 'extracted'} landmarks of {summary.frames} frames")
    return out


def choose(table: LandmarkTable, held_out: int) -> tuple[LandmarkTable, LandmarkTable]:
    """Splits a takes table into the fine-tuning takes and the take ``held_out`` of each."""
    takes = len(TAKE_STARTS)
    return split_takes(table, keep=takes - 1, first=(held_out + 1) % takes)


def base_model(table: LandmarkTable, work: Path, gestures: tuple[str, ...]) -> Path:
    """Trains the base model on ``gestures`` once; reused afterwards."""
    from hand_gesture_recognition.train import train_model

    out = work / ("base-" + "-".join(g[:2] for g in gestures))
    if (out / "model_config.json").is_file():
        print(f"reusing the base model in {out}")
        return out
    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=2),
        training=TrainingConfig(epochs=30, split="time", seed=7),
    )
    started = time.perf_counter()
    base = table.subset(np.isin(table.gesture, gestures))
    result = train_model(base, config, out, verbose=0, force=True)
    print(
        f"base model: {len(gestures)} gestures, test accuracy "
        f"{result.metrics['accuracy']:.3f}, trained in {time.perf_counter() - started:.0f} s"
    )
    return out


def held_out_accuracy(loaded: LoadedModel, held: LandmarkTable) -> tuple[float, int]:
    """Accuracy of a Keras or LiteRT model on every window of the held-out takes."""
    metrics = evaluate_model(loaded, held)
    return metrics["accuracy"], metrics["support"]


def time_command(base: Path, takes: Path, out: Path) -> float:
    """Wall seconds of ``hand-gesture train --landmarks takes --init base`` in a new process."""
    command = [
        sys.executable,
        "-m",
        "hand_gesture_recognition",
        "train",
        "--landmarks",
        str(takes),
        "--init",
        str(base),
        "--out",
        str(out),
        "--force",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"the fine-tune command failed:\n{result.stderr}")
    print("   ", result.stdout.strip().splitlines()[-2])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        f"  CPU time of the command {cpu:.1f} s; load average before it {load:.1f} "
        f"(other work on the machine lengthens the wall time)"
    )
    return seconds


def compare(base_dir: Path, takes: LandmarkTable, seeds: list[int], folds: int) -> None:
    """Held-out accuracy of the fine-tuning strategies and of a fresh model."""
    from hand_gesture_recognition.model import load_model
    from hand_gesture_recognition.train import train_on_takes

    loaded = load_model(base_dir)
    strategies = {
        "(a) LSTM frozen, lr 1e-3": FinetuneConfig(freeze="lstm", learning_rate=1e-3),
        "(b) all layers, lr 1e-3": FinetuneConfig(freeze="none", learning_rate=1e-3),
        "(b) all layers, lr 1e-4": FinetuneConfig(freeze="none", learning_rate=1e-4),
        "(c) fresh model": None,
    }
    results: dict[str, list[float]] = {name: [] for name in strategies}
    seconds: dict[str, list[float]] = {name: [] for name in strategies}
    for fold in range(folds):
        train_takes, held = choose(takes, held_out=len(TAKE_STARTS) - 1 - fold)
        for seed in seeds:
            for name, settings in strategies.items():
                # Fine-tuning runs as `train --init` does (its epoch cap); the fresh model
                # gets a fresh training's (100 epochs, early stopping).
                started = time.perf_counter()
                result = train_on_takes(train_takes, loaded, settings, seed=seed)
                seconds[name].append(time.perf_counter() - started)
                trained = LoadedModel(result.model, result.gestures, result.config)
                accuracy, n = held_out_accuracy(trained, held)
                results[name].append(accuracy)
                print(
                    f"  fold {fold} seed {seed} {name:26s} held-out accuracy {accuracy:.3f} "
                    f"({n} windows, {len(result.history['loss'])} epochs, "
                    f"{seconds[name][-1]:.1f} s)",
                    flush=True,
                )
    print(f"\nheld-out accuracy over {folds} fold(s) x {len(seeds)} seed(s) (mean +- sd):")
    for name, values in results.items():
        print(
            f"  {name:26s} {np.mean(values):.3f} +- {np.std(values, ddof=1):.3f}   "
            f"(min {min(values):.3f}; {np.mean(seconds[name]):.1f} s per run in-process)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "hgr-finetune")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=4, choices=range(1, len(TAKE_STARTS) + 1))
    parser.add_argument("--new", nargs=3, choices=GESTURES, default=list(NEW_GESTURES))
    parser.add_argument("--skip-compare", action="store_true", help="time the command only")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)

    table = LandmarkTable.load(sample_landmarks(args.work))
    base_gestures = tuple(g for g in GESTURES if g not in args.new)
    print(f"base gestures: {', '.join(base_gestures)}; new: {', '.join(args.new)}")
    base = base_model(table, args.work, base_gestures)
    takes = cut_takes(table, TAKE_STARTS, args.new)
    train_takes, held = choose(takes, held_out=len(TAKE_STARTS) - 1)
    takes_file = args.work / "takes.npz"
    train_takes.save(takes_file)
    frames = sorted({int((train_takes.sequence == s).sum()) for s in set(train_takes.sequence)})
    print(
        f"\n1. time: {len(args.new)} gestures x 3 takes of {frames[0]}-{frames[-1]} frames, "
        f"cpu cores {os.cpu_count()}"
    )
    out = args.work / "finetuned"
    seconds = time_command(base, takes_file, out)
    metrics = json.loads((out / "metrics.json").read_text())
    inside = metrics["training"]["seconds_preparing"] + metrics["training"]["seconds_training"]
    verdict = "within" if seconds <= TARGET_SECONDS else "OVER"
    print(
        f"  hand-gesture train --init: {seconds:.1f} s for the whole command, {verdict} the "
        f"{TARGET_SECONDS:.0f} s target ({inside:.1f} s preparing and fitting, "
        f"{metrics['training']['epochs_run']} epochs)"
    )
    loaded = load_classifier(out)
    accuracy, n = held_out_accuracy(loaded, held)
    lineage = loaded.config.info["finetuned_from"]
    print(
        f"  the fine-tuned directory as predict loads it (its {loaded.model.backend} export): "
        f"held-out take accuracy "
        f"{accuracy:.3f} ({n} windows); fine-tuned from {lineage['path']} "
        f"(frozen: {lineage['freeze']})"
    )
    if not args.skip_compare:
        print("\n2. what to freeze: accuracy on the held-out take of each gesture")
        compare(base, takes, args.seeds, args.folds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
