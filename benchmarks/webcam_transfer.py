"""Does a model trained on LeapGestRecog's infrared frames recognise webcam frames?

Trains the LSTM on the landmarks of the infrared sample (``../shared/data/leapgestrecog-sample``,
time split, as ``hand-gesture train --data ... --split time`` does) once per feature mode, then
runs live recognition (:class:`RealTimeGestureRecognizer`, the model's own extractor in tracking
mode, sliding 30-frame window, threshold 0) over the webcam sample's ``stop`` and ``thumbs_up``
frames (``../shared/data/webcam-sample``), whose LeapGestRecog equivalents are ``01_palm`` and
``05_thumb``. ``peace`` has no equivalent; what it is taken for is reported separately.

Prints, per feature mode and seed, the share of frames with a full window whose answer is the
right gesture and not rejected by the calibration's rules (the target is at least 0.90), and
the share of all frames; for ``peace``, the share answered "not a gesture"; with several
seeds, the mean ± sd over them (one seed is a guess: 1.000 with one, 0.5 with the next).

    uv run python benchmarks/webcam_transfer.py [--features canonical normalized] [--epochs N]
        [--stride N] [--seeds 42 7 ...] [--curl DEGREES] [--candidates K]
        [--architectures fused lstm]

``--curl DEGREES`` adds finger curl to the augmentation (off by default; TECHNICAL_REPORT
section 14.7). ``--candidates K`` trains each model as ``hand-gesture train --candidates K``
does: K seeds, the one whose confidence best tells its validation windows from synthetic
non-gestures kept (section 14.10). ``--architectures fused lstm`` trains each seed twice:
with the single-frame classifier beside the LSTM (``fused``, what ``train`` builds since
section 14.12) and the LSTM alone (``lstm``, the model before it), for paired figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")
REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
TARGETS = {"stop": "01_palm", "thumbs_up": "05_thumb"}


def sample_landmarks(data: Path, cache: Path) -> Path:
    """Extracts (or reuses) the infrared sample's landmarks with the ``auto`` extractor."""
    from hand_gesture_recognition.landmarks import extract_landmarks

    # Its own cache: extracted again when the frames (their size or time stamp) or the
    # settings changed, as the other benchmarks do, instead of refusing to replace it.
    summary = extract_landmarks(
        data, cache, extractor="auto", workers=2, progress=False, force=True
    )
    state = "reused" if summary.reused else "extracted"
    print(f"{state} {summary.frames} infrared frames' landmarks, hand in {summary.coverage:.1%}")
    return cache


def train(
    landmarks: Path, mode: str, architecture: str, seed: int, out: Path, args: argparse.Namespace
) -> dict:
    """Trains one model as ``hand-gesture train`` would with the benchmark's options."""
    from hand_gesture_recognition.config import (
        AugmentationConfig,
        ModelConfig,
        PreprocessingConfig,
        RunConfig,
        TrainingConfig,
    )
    from hand_gesture_recognition.landmark_file import LandmarkTable
    from hand_gesture_recognition.train import train_model

    augmentation = AugmentationConfig()
    if args.curl is not None:
        augmentation = replace(augmentation, curl_degrees=args.curl)
    config = RunConfig(
        preprocessing=PreprocessingConfig(feature_mode=mode, window_stride=args.stride),
        augmentation=augmentation,
        model=ModelConfig() if architecture == "fused" else ModelConfig(frame_units=()),
        training=TrainingConfig(
            epochs=args.epochs, split="time", seed=seed, candidates=args.candidates
        ),
    )
    result = train_model(LandmarkTable.load(landmarks), config, out, verbose=0)
    return result.metrics


def evaluate(model_dir: Path, webcam: Path) -> dict[str, tuple[float, float, float, Counter]]:
    """Per webcam gesture: the share of frames with a full window answered right, of all
    frames, of full windows answered "not a gesture" (the calibration's rules), and the
    answers (the model's candidates, rejected or not)."""
    from hand_gesture_recognition.realtime import (
        GESTURE,
        NOT_GESTURE,
        RealTimeGestureRecognizer,
        list_images,
        read_image,
    )

    results = {}
    with RealTimeGestureRecognizer(model_dir, threshold=0.0) as recognizer:
        for gesture in (*TARGETS, "peace"):
            recognizer.reset()
            answers = []
            for path in list_images(webcam / gesture):
                prediction = recognizer.process_frame(read_image(path))
                answers.append((prediction.candidate, prediction.state))
            full = [a for a in answers if a[0] is not None]
            target = TARGETS.get(gesture)
            right = sum(c == target and state == GESTURE for c, state in full)
            rejected = sum(state == NOT_GESTURE for _, state in full)
            results[gesture] = (
                right / len(full) if full else 0.0,
                right / len(answers),
                rejected / len(full) if full else 0.0,
                Counter(c for c, _ in full),
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", nargs="+", default=["canonical", "normalized"])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument(
        "--stride",
        type=int,
        default=2,
        help="step between training windows (default: 2; hand-gesture train uses 1 on the sample)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument(
        "--curl",
        type=float,
        default=None,
        help="finger curl of the augmentation in degrees (default: the package's, none)",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=0,
        help="train this many seeds per model and keep one, as train --candidates does "
        "(default: 0, one model)",
    )
    parser.add_argument(
        "--architectures",
        nargs="+",
        choices=["fused", "lstm"],
        default=["fused"],
        help="fused: the LSTM and the single-frame classifier (train's default); lstm: the "
        "LSTM alone",
    )
    parser.add_argument(
        "--landmarks",
        type=Path,
        default=REPO / ".cache" / "benchmarks" / "leapgestrecog-sample-auto.npz",
        help="landmark file of the infrared sample (extracted when missing)",
    )
    args = parser.parse_args(argv)
    leap, webcam = DATA / "leapgestrecog-sample", DATA / "webcam-sample"
    if not leap.is_dir() or not webcam.is_dir():
        print(f"webcam_transfer.py: error: sample data not found in {DATA}", file=sys.stderr)
        return 2
    landmarks = sample_landmarks(leap, args.landmarks)
    print(f"webcam frames: {webcam} (stop -> 01_palm, thumbs_up -> 05_thumb)")
    summary: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        runs = [(m, a, s) for m in args.features for a in args.architectures for s in args.seeds]
        for mode, architecture, seed in runs:
            started = time.perf_counter()
            name = f"{mode}/{architecture}"
            out = Path(scratch) / f"{mode}-{architecture}-{seed}"
            metrics = train(landmarks, mode, architecture, seed, out, args)
            trained = time.perf_counter() - started
            results = evaluate(out, webcam)
            print(
                f"\n[{name} seed {seed}] trained in {trained:.0f} s; infrared test accuracy "
                f"{metrics['accuracy']:.3f} ({metrics['support']} windows)"
            )
            chosen = metrics["training"].get("candidates")
            if chosen:
                print(f"  kept seed {chosen['chosen_seed']} of {len(chosen['models'])} candidates")
            scores = []
            for gesture, (windowed, overall, rejected, answers) in results.items():
                common = ", ".join(f"{g} {n}" for g, n in answers.most_common(3))
                if gesture in TARGETS:
                    scores.append(windowed)
                    print(
                        f"  {gesture:9s} -> {TARGETS[gesture]}: {windowed:.3f} of frames with a "
                        f"full window right ({overall:.3f} of all frames; {rejected:.3f} not a "
                        f"gesture); the model's answers: {common}"
                    )
                else:
                    print(
                        f"  {gesture:9s} (no LeapGestRecog equivalent): {rejected:.3f} of frames "
                        f"with a full window answered not a gesture; the model's answers: {common}"
                    )
                    summary.setdefault(f"{name} peace rejected", []).append(rejected)
            mean = sum(scores) / len(scores)
            summary.setdefault(name, []).append(mean)
            print(f"  webcam transfer (stop + thumbs_up, mean): {mean:.3f}  (target >= 0.90)")
    print(f"\nsummary over seeds {' '.join(map(str, args.seeds))}:")
    for mode, means in summary.items():
        spread = np.std(means, ddof=1) if len(means) > 1 else 0.0
        each = " ".join(f"{m:.3f}" for m in means)
        print(f"  {mode}: {np.mean(means):.3f} ± {spread:.3f}  (per seed {each})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
