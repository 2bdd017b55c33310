"""Does a personal model with a ``none`` class say "not a gesture" for what its user calls none?

The webcam sample's person (``../shared/data/webcam-sample``) stands in for a user: ``stop`` and
``thumbs_up`` are their gestures and their V sign (``peace``) is what they record as ``none``
(``hand-gesture record --gesture none``). Each clip is cut into takes of 36 frames (the hand
enters around frame 18, so the first 20 frames are skipped), as ``record`` cuts a video.
A base model is trained on the infrared sample (time split) once and kept in ``--work``.

For every fold (which 3 takes of each gesture fine-tune; the others are held out) and seed it
fine-tunes the base twice on the same takes, as ``hand-gesture train --init`` does:

* **with** ``none``: stop, thumbs_up and none (the V sign) takes;
* **without**: stop and thumbs_up takes only, where a V sign can be rejected only by the
  calibrated confidence falling under the live threshold (0.6).

and reports on every window of the held-out takes (mean ± sd over folds and seeds): the share
of stop/thumbs_up windows answered right and confidently, and the share of V-sign windows
*rejected* (answered ``none``, under the model's calibrated threshold, 0.6, or by the
orientation or finger rule of its ``calibration.json``, as live use answers). The held-out
V signs are the same person's V sign, so this measures the mechanism, not a model's notion
of non-gestures in general (TECHNICAL_REPORT section 14.4).

    uv run python benchmarks/personal_none.py [--seeds 0 1 2 3 4] [--folds 2] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")

from hand_gesture_recognition.calibration import (  # noqa: E402 - after the log settings.
    GESTURE,
    REJECTION_LABEL,
    Calibration,
)
from hand_gesture_recognition.config import (  # noqa: E402
    FinetuneConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
)
from hand_gesture_recognition.landmark_file import LandmarkTable  # noqa: E402
from hand_gesture_recognition.landmarks import extract_landmarks  # noqa: E402
from hand_gesture_recognition.model import load_model, predict_probabilities  # noqa: E402
from hand_gesture_recognition.preprocessing import table_windows, window_features  # noqa: E402
from hand_gesture_recognition.record import load_takes, split_takes  # noqa: E402
from hand_gesture_recognition.train import train_model, train_on_takes  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
GESTURES = ("stop", "thumbs_up")
NOT_A_GESTURE = "peace"


def base_model(work: Path) -> Path:
    """The infrared sample's model (time split), trained once into ``work``."""
    out = work / "base"
    if (out / "model_config.json").is_file():
        return out
    summary = extract_landmarks(
        DATA / "leapgestrecog-sample", work / "leap.npz", extractor="auto", workers=2, force=True
    )
    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=2),
        training=TrainingConfig(epochs=30, split="time", seed=0),
    )
    train_model(LandmarkTable.load(summary.path), config, out, force=True)
    return out


def answers(result, held_out: LandmarkTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each held-out window's true gesture, answer and whether it is answered as a gesture."""
    prep = result.config.preprocessing
    names = [*GESTURES, REJECTION_LABEL]
    windows = table_windows(held_out, names, prep)
    calibration = Calibration(**result.metrics["calibration"])
    # As live use answers: the none class, the orientation and the finger rules, the threshold.
    said = calibration.answer(
        predict_probabilities(result.model, window_features(windows, prep.feature_mode)),
        windows.windows,
        windows.aspect,
        list(result.gestures),
    )
    answer = np.array(result.gestures)[said.top]
    return np.array(names)[windows.labels], answer, said.state == GESTURE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "hgr-personal-none")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"personal_none.py: error: {DATA} not found", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    base = load_model(base_model(args.work))
    takes = load_takes(DATA / "webcam-sample", 36, gestures=[*GESTURES, NOT_A_GESTURE], skip=20)
    takes.gesture = np.where(takes.gesture == NOT_A_GESTURE, REJECTION_LABEL, takes.gesture)
    counts = {g: len(set(takes.sequence[takes.gesture == g])) for g in takes.gestures}
    print(f"base model and takes ready in {time.perf_counter() - started:.0f} s; takes: {counts}")
    rows: dict[str, dict[str, list[float]]] = {"with none": {}, "without": {}}
    for fold in range(args.folds):
        tune, held = split_takes(takes, keep=3, first=3 * fold)
        for seed in args.seeds:
            for name in rows:
                data = tune if name == "with none" else tune.subset(tune.gesture != REJECTION_LABEL)
                t0 = time.perf_counter()
                result = train_on_takes(data, base, FinetuneConfig(), seed=seed)
                truth, answer, accepted = answers(result, held)
                gesture = truth != REJECTION_LABEL
                row = {
                    "gestures right and confident": float(
                        ((answer == truth) & accepted)[gesture].mean()
                    ),
                    "V signs rejected": float((~accepted)[~gesture].mean()),
                    "seconds": time.perf_counter() - t0,
                }
                for key, value in row.items():
                    rows[name].setdefault(key, []).append(value)
                print(
                    f"[fold {fold} seed {seed} {name}] "
                    + ", ".join(f"{k} {v:.3f}" for k, v in row.items()),
                    flush=True,
                )
    print(f"\nmean ± sd over {args.folds} folds x {len(args.seeds)} seeds:")
    for name, metrics in rows.items():
        print(
            f"  {name:10s} "
            + "; ".join(
                f"{k} {np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0.0:.3f}"
                for k, v in metrics.items()
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
