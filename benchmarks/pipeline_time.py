"""Estimates the main job's time on the full LeapGestRecog from costs measured on the sample.

Measures, on the 1,300-frame sample: landmark extraction (frames per second with the default
extractor and 2 workers, imports included) and training (seconds per training window per
epoch, validation included, the first epoch's graph tracing excluded; the same for the
single-frame part trained after the LSTM, its five classifiers fitted side by side, from the
rest of the fit's time). Then extrapolates to the
full dataset (10 subjects x 10 gestures x 200 frames; subject split 6/2/2; training windows at
stride 3, x3 augmentation) for the worst case of 100 epochs and for a typical early stop, for
one model (what ``hand-gesture train`` trains) and for ``--candidates 5``.

    uv run python benchmarks/pipeline_time.py [--data DIR] [--epochs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "leapgestrecog-sample"

FULL_FRAMES = 20_000
FULL_TRAIN_RECORDINGS = 60  # 6 training subjects x 10 gestures.
FULL_VAL_RECORDINGS = 20  # 2 validation subjects x 10 gestures.
FRAMES_PER_RECORDING = 200
CANDIDATES = 5  # train --candidates 5 fits five models.


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=4, help="epochs timed on the sample")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(
            f"benchmarks/pipeline_time.py: error: {args.data}: sample data not found",
            file=sys.stderr,
        )
        return 2

    from hand_gesture_recognition.config import PreprocessingConfig, RunConfig, TrainingConfig
    from hand_gesture_recognition.landmark_file import LandmarkTable
    from hand_gesture_recognition.landmarks import extract_landmarks
    from hand_gesture_recognition.model import fit
    from hand_gesture_recognition.sequences import prepare_data

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        summary = extract_landmarks(
            args.data, Path(scratch) / "lm.npz", workers=args.workers, progress=False
        )
        extract_seconds = time.perf_counter() - started
        table = LandmarkTable.load(summary.path)
    fps = summary.frames / extract_seconds
    print(
        f"extraction: {summary.frames} frames in {extract_seconds:.1f} s with "
        f"{args.workers} workers = {fps:.1f} frames/s (coverage {summary.coverage:.1%})"
    )

    import keras

    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=1),
        training=TrainingConfig(epochs=args.epochs, split="time", early_stopping_patience=99),
    )
    data = prepare_data(table, config.preprocessing, config.augmentation, config.training)

    class EpochTimer(keras.callbacks.Callback):
        """Records each epoch's wall time (the first one includes tracing the graph)."""

        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    timer = EpochTimer()
    started = time.perf_counter()
    _, history = fit(data, config, verbose=0, callbacks=[timer])
    frame_seconds = time.perf_counter() - started - sum(timer.seconds)
    frame_epochs = len(history.get("frames_loss", []))
    steady = timer.seconds[1:] or timer.seconds
    epoch_time = sum(steady) / len(steady)
    per_window = epoch_time / (len(data.x_train) + 0.25 * len(data.x_val))
    print(
        f"training: {len(data.x_train)} training + {len(data.x_val)} validation windows; "
        f"first epoch {timer.seconds[0]:.1f} s (graph tracing), then {epoch_time:.2f} s per "
        f"epoch = {per_window * 1e3:.3f} ms per training window-epoch (validation windows "
        "counted as 1/4: no backward pass)"
    )

    counted = len(data.x_train) + 0.25 * len(data.x_val)
    frame_per_window = frame_seconds / max(frame_epochs, 1) / counted
    if frame_epochs:
        print(
            f"single-frame part ({config.model.frame_members} classifiers side by side): "
            f"{frame_epochs} epochs in {frame_seconds:.1f} s (first included) = "
            f"{frame_per_window * 1e3:.3f} ms per training window-epoch"
        )

    windows_per_recording = (FRAMES_PER_RECORDING - 30) // 3 + 1
    train_windows = FULL_TRAIN_RECORDINGS * windows_per_recording * 3
    val_windows = FULL_VAL_RECORDINGS * (FRAMES_PER_RECORDING - 30 + 1)
    epoch_seconds = per_window * (train_windows + 0.25 * val_windows)
    frame_epoch_seconds = frame_per_window * (train_windows + 0.25 * val_windows)
    extract_full = FULL_FRAMES / fps
    print(
        f"full dataset: {FULL_FRAMES} frames -> extraction {extract_full / 60:.1f} min; "
        f"{train_windows} training windows -> {epoch_seconds:.1f} s per epoch, "
        f"{frame_epoch_seconds:.1f} s per epoch of the single-frame part"
    )
    # Typical early stops measured on the sample: about 40 LSTM epochs, 20-30 frame epochs.
    for label, n, m in (
        ("100 epochs (worst case)", 100, 100 if frame_epochs else 0),
        ("40 epochs (typical early stop; 30 for frames)", 40, 30 if frame_epochs else 0),
    ):
        one = n * epoch_seconds + m * frame_epoch_seconds
        total = extract_full + one
        chosen = extract_full + CANDIDATES * one
        print(
            f"  {label}: {total / 60:.1f} min in all (target 45 min); with --candidates "
            f"{CANDIDATES}: {chosen / 60:.1f} min"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
