"""Per-frame latency of live recognition against an original-style loop, in one run.

Makes two videos from the real sample frames (webcam frames of ../shared/data/webcam-sample and
Leap Motion frames of ../shared/data/leapgestrecog-sample), then times per frame:

* ``process_frame`` of :class:`RealTimeGestureRecognizer` (the model's extractor in tracking
  mode, features, the sliding window classified on every frame by ``FastClassifier``);
* an original-style loop: MediaPipe Hands in static-image mode on every frame, raw landmarks,
  and ``model.predict`` on the window of the last 30 frames on every frame;
* ``process_frame`` on the same webcam frames with the hand far from the camera (120 pixels
  tall in a grey 640x480 frame) and with no hand (blurred), against MediaPipe Hands alone in
  tracking mode (live extraction before it searched tiles for small hands);

and the classifier alone per window: the model's two exports as training writes them, each in
its runtime (``model.onnx`` on ONNX Runtime, what live recognition runs, and ``model.tflite``
on LiteRT, what it ran before), a compiled Keras call and ``model.predict``, with the largest
difference of their outputs from the Keras model's, and ``--ensemble N`` averaged copies of
it on ONNX Runtime (what a seed ensemble would cost live). Frame decoding is not timed. By
default the process is pinned to one CPU core. The classifier is the default architecture
(the LSTM with the single-frame part beside it); the LSTM alone is timed too, on both
runtimes, in the same run. Targets: process_frame p50 <= 0.25x the original-style loop's;
>= 60 frames per second on webcam frames; the classifier <= 1 ms per window.

    uv run python benchmarks/realtime.py [--model DIR] [--frames N] [--cores N] [--ensemble N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")
REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
WEBCAM_GESTURES = ("stop", "thumbs_up", "peace")
LEAP_GESTURES = ("01_palm", "05_thumb", "03_fist", "07_ok", "10_down")


def make_video(frames: list[Path], out: Path) -> Path:
    import cv2

    first = cv2.imread(str(frames[0]))
    writer = cv2.VideoWriter(
        str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (first.shape[1], first.shape[0])
    )
    for path in frames:
        writer.write(cv2.imread(str(path)))
    writer.release()
    return out


def read_video(path: Path) -> list:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def make_model(directory: Path) -> Path:
    """A model with the default architecture and canonical features (timing only).

    The default architecture is the LSTM with the single-frame part (its
    ``frame_members`` classifiers joined) beside it.
    """
    from hand_gesture_recognition.config import PreprocessingConfig, RunConfig
    from hand_gesture_recognition.model import (
        build_frame_model,
        build_model,
        fuse,
        join_frames,
        save_model,
    )

    gestures = [p.name for p in sorted((DATA / "leapgestrecog-sample/leapGestRecog/00").iterdir())]
    config = RunConfig(preprocessing=PreprocessingConfig(feature_mode="canonical"))
    model = build_model(len(gestures), config=config.model)
    if config.model.frame_units:
        count = config.model.frame_members
        members = [build_frame_model(len(gestures), config.model) for _ in range(count)]
        model = fuse(model, join_frames(members))
    save_model(directory, model, gestures, config)
    return directory


def percentiles(values: list[float]) -> tuple[float, float]:
    import numpy as np

    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def time_recognizer(model_dir: Path, frames: list) -> tuple[list[float], float]:
    from hand_gesture_recognition.realtime import RealTimeGestureRecognizer

    with RealTimeGestureRecognizer(model_dir) as recognizer:
        recognizer.process_frame(frames[0])  # builds the graphs and the classifier
        recognizer.reset()
        latencies, hands = [], 0
        for frame in frames:
            started = time.perf_counter()
            prediction = recognizer.process_frame(frame)
            latencies.append((time.perf_counter() - started) * 1000)
            hands += prediction.hand_detected
    return latencies, hands / len(frames)


def time_standard(frames: list) -> tuple[list[float], float]:
    """MediaPipe Hands alone in tracking mode per frame: live extraction before the tiles."""
    from hand_gesture_recognition.extractor import MediaPipeHandsExtractor

    with MediaPipeHandsExtractor(tracking=True) as standard:
        standard.process(frames[0])
        standard.reset()
        latencies, hands = [], 0
        for frame in frames:
            started = time.perf_counter()
            hands += standard.process(frame).detected
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies, hands / len(frames)


def time_original(model, frames: list, length: int = 30) -> tuple[list[float], float]:
    """MediaPipe Hands static mode per frame, raw landmarks, ``model.predict`` per window."""
    from collections import deque

    import cv2
    import mediapipe as mp
    import numpy as np

    from hand_gesture_recognition.extractor import correct_aspect

    window: deque = deque(maxlen=length)
    latencies, hands = [], 0
    with mp.solutions.hands.Hands(
        static_image_mode=True, max_num_hands=1, min_detection_confidence=0.5
    ) as solution:
        solution.process(cv2.cvtColor(frames[0], cv2.COLOR_BGR2RGB))
        model.predict(np.zeros((1, length, 63), np.float32), verbose=0)
        for frame in frames:
            started = time.perf_counter()
            image = cv2.cvtColor(correct_aspect(frame), cv2.COLOR_BGR2RGB)
            result = solution.process(image)
            if result.multi_hand_landmarks:
                points = result.multi_hand_landmarks[0].landmark
                window.append(np.array([(p.x, p.y, p.z) for p in points], np.float32).ravel())
                hands += 1
            else:
                window.append(np.zeros(63, np.float32))
            if len(window) == length:
                model.predict(np.stack(window)[None], verbose=0)
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies, hands / len(frames)


def time_preprocessing(config, repeats: int) -> tuple[float, float]:
    """Median ms per frame of the live preprocessing, and of one frame's features alone.

    The live path (:class:`~hand_gesture_recognition.preprocessing.WindowStream` and
    ``window_input``) computes the features of the whole window on every frame; the second
    figure is what a per-frame feature cache would cost instead.
    """
    import numpy as np

    from hand_gesture_recognition.features import frame_features
    from hand_gesture_recognition.preprocessing import READY, WindowStream, window_input

    rng = np.random.default_rng(0)
    points = rng.random((repeats, 21, 3)).astype(np.float32)
    stream = WindowStream(config)
    window_ms, frame_ms = [], []
    for i, frame in enumerate(points):
        started = time.perf_counter()
        state, window = stream.push(frame, 1.0)
        if state == READY:
            window_input(window, config)
        if i >= config.sequence_length:
            window_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        frame_features(frame[None], np.ones(1, np.float32), config.feature_mode)
        frame_ms.append((time.perf_counter() - started) * 1000)
    return float(np.median(window_ms)), float(np.median(frame_ms))


def time_calls(predict, windows, repeats: int) -> tuple[float, float]:
    """p50 and p95 in ms of ``predict`` on one window at a time."""
    latencies = []
    for i in range(repeats):
        started = time.perf_counter()
        predict(windows[i % len(windows)])
        latencies.append((time.perf_counter() - started) * 1000)
    return percentiles(latencies)


def exports(model, directory: Path) -> dict[str, object]:
    """``model``'s ONNX and LiteRT exports (as training writes them), each in its runtime."""
    from hand_gesture_recognition.config import ONNX_FILE, TFLITE_FILE
    from hand_gesture_recognition.model import Classifier, export_model

    directory.mkdir(parents=True, exist_ok=True)
    export_model(model, directory)
    return {
        "ONNX Runtime": Classifier(directory / ONNX_FILE),
        "LiteRT": Classifier(directory / TFLITE_FILE),
    }


def time_classifier(model, runners: dict, windows, repeats: int) -> dict[str, tuple]:
    """p50, p95 and the largest difference from the Keras model's outputs of each way to run it.

    ``runners`` are the exports (:func:`exports`); a compiled Keras call and ``model.predict``
    (what the original project called per window) are timed beside them.
    """
    import numpy as np

    from hand_gesture_recognition.model import FastClassifier

    reference = model(windows, training=False).numpy()
    results = {}
    for name, runner in {**runners, "compiled Keras call": FastClassifier(model, False)}.items():
        difference = float(np.abs(np.stack([runner.predict(w) for w in windows]) - reference).max())
        results[name] = (*time_calls(runner.predict, windows, repeats), difference)
    calls = min(repeats, 50)
    results["model.predict"] = (
        *time_calls(lambda w: model.predict(w[None], verbose=0), windows, calls),
        0.0,
    )
    return results


def averaged_copies(model, count: int):
    """``count`` freshly initialised copies of ``model`` whose probabilities are averaged.

    The cost per window of a seed ensemble (``benchmarks/generalisation.py --teachers``'s
    ``<design>/teachers``); its weights do not matter for latency.
    """
    import keras

    inputs = keras.Input(model.inputs[0].shape[1:])
    copies = []
    for i in range(count):
        copy = keras.models.clone_model(model)
        copy.name = f"member_{i}"
        copies.append(copy(inputs))
    return keras.Model(inputs, keras.layers.Average()(copies))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="model directory (default: "
        "an untrained model with the default architecture; latency only)",
    )
    parser.add_argument("--frames", type=int, default=200, help="frames per video")
    parser.add_argument("--cores", type=int, default=1, help="CPU cores to run on (default 1)")
    parser.add_argument("--repeats", type=int, default=300, help="classifier calls timed")
    parser.add_argument(
        "--ensemble",
        type=int,
        default=5,
        help="also time N averaged copies of the classifier (a seed ensemble; 0: skip)",
    )
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"benchmarks/realtime.py: error: sample data not found at {DATA}", file=sys.stderr)
        return 2
    if args.cores and hasattr(os, "sched_setaffinity"):
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(available[: args.cores]))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    import numpy as np

    from hand_gesture_recognition.model import load_classifier, load_model, lstm_part
    from hand_gesture_recognition.realtime import list_images

    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        per_gesture = max(1, args.frames // len(WEBCAM_GESTURES))
        webcam = [
            p
            for g in WEBCAM_GESTURES
            for p in list_images(DATA / "webcam-sample" / g)[:per_gesture]
        ]
        per_gesture = max(1, args.frames // len(LEAP_GESTURES))
        leap_root = DATA / "leapgestrecog-sample" / "leapGestRecog" / "00"
        leap = [p for g in LEAP_GESTURES for p in list_images(leap_root / g)[:per_gesture]]
        videos = {
            "webcam": make_video(webcam, scratch / "webcam.mp4"),
            "infrared": make_video(leap, scratch / "infrared.mp4"),
        }
        model_dir = args.model or make_model(scratch / "model")
        loaded = load_model(model_dir)
        print(
            f"cores: {cores}; model: {args.model or 'untrained, default architecture'} "
            f"({loaded.preprocessing.feature_mode} features, {loaded.preprocessing.extractor} "
            "extractor)"
        )
        print("per-frame latency in ms (p50 / p95), frame decoding excluded:")
        ratios, p50s = {}, {}
        for name, video in videos.items():
            frames = read_video(video)
            ours, ours_hands = time_recognizer(model_dir, frames)
            base, base_hands = time_original(loaded.model, frames)
            (o50, o95), (b50, b95) = percentiles(ours), percentiles(base)
            ratios[name] = o50 / b50
            p50s[name] = o50
            print(
                f"  {name:8s} {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}: "
                f"process_frame {o50:6.2f} / {o95:6.2f} ({1000 / np.mean(ours):5.1f} fps, hand "
                f"in {ours_hands:.0%}); original-style {b50:6.2f} / {b95:6.2f} "
                f"({1000 / np.mean(base):5.1f} fps, hand in {base_hands:.0%}); "
                f"p50 ratio {ratios[name]:.3f}x"
            )
        # A hand far from the camera, and no hand at all: the tile search's gain and cost.
        import cv2
        from invariance import far  # the photo benchmark's far-away copy

        webcam_frames = read_video(videos["webcam"])
        harder = {
            "far hand": [far(frame, cv2.BORDER_CONSTANT) for frame in webcam_frames],
            "no hand": [cv2.GaussianBlur(frame, (0, 0), 30) for frame in webcam_frames],
        }
        print(
            "the same webcam frames 120 pixels tall in a grey 640x480 frame (far hand) and "
            "blurred past recognition (no hand), process_frame against MediaPipe Hands alone:"
        )
        for name, frames in harder.items():
            ours, ours_hands = time_recognizer(model_dir, frames)
            base, base_hands = time_standard(frames)
            print(
                f"  {name:8s} process_frame {np.mean(ours):6.2f} ms mean, hand in "
                f"{ours_hands:.0%}; MediaPipe Hands alone {np.mean(base):6.2f} ms, hand in "
                f"{base_hands:.0%}; mean ratio {np.mean(ours) / np.mean(base):.2f}x"
            )
        window_ms, frame_ms = time_preprocessing(loaded.preprocessing, args.repeats)
        print(
            f"live preprocessing per frame (window stream + features of the whole window): "
            f"{window_ms:.3f} ms; one frame's features alone (a per-frame cache): {frame_ms:.3f} "
            f"ms; {window_ms / p50s['webcam']:.1%} of the webcam process_frame p50"
        )
        rng = np.random.default_rng(0)
        windows = rng.normal(0, 1, (32, *loaded.model.inputs[0].shape[1:])).astype(np.float32)
        live = load_classifier(model_dir).model
        print(
            f"classifier per window in ms (p50 / p95), largest difference from Keras outputs; "
            f"live recognition runs the {live.backend} export:"
        )
        timed = time_classifier(
            loaded.model, exports(loaded.model, scratch / "x"), windows, args.repeats
        )
        for name, (p50, p95, diff) in timed.items():
            print(f"  {name:20s} {p50:7.3f} / {p95:7.3f}   max |diff| {diff:.1e}")
        onnx, litert = timed["ONNX Runtime"][0], timed["LiteRT"][0]
        print(f"  ONNX Runtime / LiteRT: {onnx / litert:.2f}x")
        lstm = lstm_part(loaded.model)
        if lstm is not loaded.model:
            alone = time_classifier(lstm, exports(lstm, scratch / "lstm"), windows, args.repeats)
            print(
                f"  the LSTM alone: ONNX Runtime {alone['ONNX Runtime'][0]:.3f}, LiteRT "
                f"{alone['LiteRT'][0]:.3f}; the model with its single-frame part: "
                f"{onnx / alone['ONNX Runtime'][0]:.2f}x on ONNX Runtime, "
                f"{litert / alone['LiteRT'][0]:.2f}x on LiteRT"
            )
        if args.ensemble > 1:
            ensemble = averaged_copies(loaded.model, args.ensemble)
            runner = exports(ensemble, scratch / "ensemble")["ONNX Runtime"]
            p50, p95 = time_calls(runner.predict, windows, args.repeats)
            print(
                f"  {args.ensemble} averaged copies (ONNX Runtime) {p50:7.3f} / {p95:7.3f}; "
                f"{p50 / onnx:.2f}x one model"
            )
    print("targets: p50 ratio <= 0.25x; webcam >= 60 fps; classifier <= 1 ms per window")
    return 0


if __name__ == "__main__":
    sys.exit(main())
