"""Live gesture recognition: a sliding window over a camera, a video or a folder of images.

:class:`RealTimeGestureRecognizer` turns each frame into a :class:`Prediction`. It finds the
hand with the extractor the model was trained with (in tracking mode, so the palm detector
runs only when the hand is lost, on corner tiles too once it stays lost), preprocesses exactly
as in training (the settings come from ``model_config.json``; a model without one is the
original project's: raw coordinates, zeros for missing frames), keeps the last
``sequence_length`` frames in the
:class:`~hand_gesture_recognition.preprocessing.WindowStream` that also makes the training
windows, and classifies that window on every frame once it is full. The answer is the mean of
the last few probability vectors; under the confidence threshold it is ``uncertain``, and
when a model's ``none`` class (poses that are no gesture) is the most likely, the hand
points further below the horizontal than the calibration's orientation rule allows, or its
fingers are not held as in the most likely gesture's training windows (the finger rule),
``not_gesture``.
A hand lost for a few frames is bridged as in training; lost for longer, the window is cleared
and the state is ``no_hand``. A photo is its one frame held for a window
(:func:`~hand_gesture_recognition.preprocessing.still_window`).

:func:`predict_command` is ``hand-gesture predict``: it reads a camera index, a video file or
a folder of images (one sequence in name order, or each image on its own with
``--static-images``), and writes JSON lines and an annotated video atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import GESTURE, NOT_GESTURE, UNCERTAIN, Calibration
from .errors import InputError
from .extractor import HandResult, LandmarkExtractor, read_image
from .hub import download_model
from .landmarks import make_extractor
from .model import load_classifier
from .preprocessing import EMPTY, FILLING, SPARSE, WindowStream, still_window, window_input
from .storage import atomic_output, check_output_file, same_file

#: States of a :class:`Prediction` before a window is classified; a classified window is
#: :data:`GESTURE`, :data:`UNCERTAIN` or :data:`NOT_GESTURE` (:meth:`Calibration.answer`).
NO_HAND, WARMING_UP = "no_hand", "warming_up"

#: Image files read from a folder source.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

#: Video containers ``--output`` writes (MJPG for .avi, mp4v otherwise).
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")
#: The codec written for each output suffix (mp4v for the rest). OpenCV's wheels cannot encode
#: H.264; VP8 in WebM is what browsers play.
_CODECS = {".avi": "MJPG", ".webm": "VP80"}

#: Pairs of landmark indices joined in the hand's skeleton (MediaPipe's HAND_CONNECTIONS).
HAND_CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16),
    (13, 17), (0, 17), (17, 18), (18, 19), (19, 20),
)  # fmt: skip

_DEFAULT_FPS = 30.0


@dataclass
class Prediction:
    """What the recognizer says about one frame.

    Attributes:
        label: The gesture, or None unless ``state`` is ``gesture``.
        confidence: The smoothed probability of the most likely gesture (0 without a
            classified window).
        probabilities: Smoothed class probabilities in mapping order, or None without a
            classified window.
        hand_detected: Whether a hand was found in this frame.
        landmarks: This frame's ``(21, 3)`` landmarks, or None.
        state: ``no_hand``, ``warming_up`` (the window is filling), ``uncertain`` (under the
            threshold, or too many frames of the window without a hand), ``not_gesture`` (a
            hand doing no gesture: the model's ``none`` class is the most likely, the hand
            points down, or its fingers are not the most likely gesture's) or ``gesture``.
        latency_ms: Time spent on this frame (landmarks, features, classifier).
        candidate: The most likely gesture even when uncertain, or None.
        points_down: Whether the answer is ``not_gesture`` because the hand points further
            down than the model's orientation rule allows (rather than its ``none`` class).
        off_shape: Whether the answer is ``not_gesture`` because the window's fingers are
            not held as in the training windows of ``candidate`` (the model's finger rule).
    """

    label: str | None
    confidence: float
    probabilities: np.ndarray | None
    hand_detected: bool
    landmarks: np.ndarray | None
    state: str
    latency_ms: float = 0.0
    candidate: str | None = None
    points_down: bool = False
    off_shape: bool = False

    def record(self, **where: Any) -> dict[str, Any]:
        """The JSON-line record: ``where`` (e.g. ``frame=i``) then label, confidence, etc."""
        return {
            **where,
            "label": self.label,
            "confidence": round(float(self.confidence), 6),
            "hand_detected": bool(self.hand_detected),
            "latency_ms": round(float(self.latency_ms), 3),
            "state": self.state,
        }


class RealTimeGestureRecognizer:
    """Recognises gestures frame by frame with a sliding window over the last frames.

    Args:
        model_path: A model directory or its ``.h5`` file.
        gesture_mapping: A mapping dict or ``gesture_mapping.json`` path (default: the one
            beside the model).
        threshold: Smoothed confidence under which the answer is ``uncertain``.
        smoothing: Number of recent probability vectors averaged (1: none).
        extractor: A landmark extractor to use instead of the model's own (built in
            tracking mode from ``model_config.json`` by default).
        max_gap: Frames without a hand that are bridged; one more clears the window. The
            model's own ``max_gap`` (what training used) when None.

    Raises:
        InputError: For a missing or inconsistent model, or bad settings.
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        gesture_mapping: str | os.PathLike | dict[str, int] | None = None,
        *,
        threshold: float = 0.6,
        smoothing: int = 5,
        extractor: LandmarkExtractor | None = None,
        max_gap: int | None = None,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise InputError(f"threshold must be in [0, 1], got {threshold}")
        if smoothing < 1:
            raise InputError(f"smoothing must be at least 1, got {smoothing}")
        if max_gap is not None and max_gap < 0:
            raise InputError(f"max_gap must be at least 0, got {max_gap}")
        self.loaded = load_classifier(model_path, gesture_mapping)
        self.gestures = list(self.loaded.gestures)
        self.preprocessing = self.loaded.preprocessing
        if max_gap is not None:
            self.preprocessing = replace(self.preprocessing, max_gap=int(max_gap))
        self.classifier = self.loaded.model
        # The temperature fitted at training time (1 for models without calibration.json).
        self.calibration = Calibration.load(self.loaded.directory)
        self.threshold = float(threshold)
        self.smoothing = int(smoothing)
        self.max_gap = self.preprocessing.max_gap
        self.extractor = extractor or make_extractor(
            self.preprocessing.extractor,
            tracking=True,
            min_confidence=self.preprocessing.min_detection_confidence,
        )
        self._stream = WindowStream(self.preprocessing)
        self._history: deque[np.ndarray] = deque(maxlen=self.smoothing)

    @property
    def sequence_length(self) -> int:
        """Frames per window."""
        return self.preprocessing.sequence_length

    def reset(self) -> None:
        """Clears the window and the smoothing, and lets the extractor search afresh."""
        self._clear()
        self.extractor.reset()

    def close(self) -> None:
        """Releases the extractor's models."""
        self.extractor.close()

    def __enter__(self) -> RealTimeGestureRecognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _clear(self) -> None:
        self._stream.clear()
        self._history.clear()

    def process_frame(self, frame: np.ndarray) -> Prediction:
        """Finds the hand in the next frame of the stream and classifies the current window.

        Args:
            frame: A BGR or grayscale uint8 image.

        Returns:
            The prediction for this frame.
        """
        started = time.perf_counter()
        prediction = self.update(self.extractor.process(frame))
        prediction.latency_ms = (time.perf_counter() - started) * 1000.0
        return prediction

    def update(self, result: HandResult) -> Prediction:
        """Adds one frame's extractor result to the window and classifies the window.

        Args:
            result: The extractor's result for the next frame.

        Returns:
            The prediction (``latency_ms`` left at 0).
        """
        landmarks = result.landmarks if result.detected else None
        state, window = self._stream.push(landmarks, result.aspect)
        if state == EMPTY:
            self._history.clear()
            return Prediction(None, 0.0, None, False, None, NO_HAND)
        if state == FILLING:
            return Prediction(None, 0.0, None, result.detected, landmarks, WARMING_UP)
        if state == SPARSE:
            # Training never saw windows this empty; do not guess.
            self._history.clear()
            return Prediction(None, 0.0, None, result.detected, landmarks, UNCERTAIN)
        self._history.append(self.classifier.predict(window_input(window, self.preprocessing)))
        probabilities = np.mean(self._history, axis=0)
        return self._decide(
            probabilities, result.detected, landmarks, window.landmarks, window.aspect
        )

    def _decide(
        self,
        probabilities: np.ndarray,
        detected: bool,
        landmarks: np.ndarray | None,
        window: np.ndarray,
        aspect: np.ndarray,
    ) -> Prediction:
        """The prediction for the model's ``probabilities`` of a ``(L, 21, 3)`` window."""
        answer = self.calibration.answer(
            probabilities, window, aspect, self.gestures, self.threshold
        )
        state = str(answer.state)
        candidate = self.gestures[int(answer.top)]
        return Prediction(
            candidate if state == GESTURE else None,
            float(answer.confidence),
            answer.probabilities,
            detected,
            landmarks,
            state,
            candidate=candidate,
            points_down=bool(answer.points_down),
            off_shape=bool(answer.off_shape),
        )

    def classify_image(self, image: np.ndarray) -> Prediction:
        """Classifies one image on its own, its landmarks held for a whole window.

        The stream's window is cleared before and after, so this can be mixed with
        :meth:`process_frame` only between sequences.

        Args:
            image: A BGR or grayscale uint8 image.

        Returns:
            The prediction (no smoothing).
        """
        started = time.perf_counter()
        self.reset()
        try:
            result = self.extractor.process_photo(image)
        finally:
            self.reset()
        if not result.detected:
            prediction = Prediction(None, 0.0, None, False, None, NO_HAND)
        else:
            window = still_window(result.landmarks, result.aspect, self.preprocessing)
            prediction = self._decide(
                self.classifier.predict(window),
                True,
                result.landmarks,
                result.landmarks[None],
                np.array([result.aspect]),
            )
        prediction.latency_ms = (time.perf_counter() - started) * 1000.0
        return prediction

    def run(
        self,
        source: int | str | os.PathLike | FrameSource,
        display: bool = True,
        output: str | os.PathLike | None = None,
        jsonl: str | os.PathLike | None = None,
        *,
        log: Callable[[str], None] | None = None,
    ) -> RunSummary:
        """Recognises gestures over a whole source, drawing, showing and writing as asked.

        Args:
            source: A camera index, a video file, a folder of images (one sequence in name
                order), or an opened :class:`FrameSource`.
            display: Show the annotated frames in a window (``q`` quits); ignored, with one
                message, when there is no screen.
            output: Write the annotated frames to this video file.
            jsonl: Write one JSON line per frame to this file.
            log: Receives progress messages (standard error by default).

        Returns:
            Counts and timings of the run.

        Raises:
            InputError: If the source cannot be opened or an output cannot be written.
        """
        frames = source if isinstance(source, FrameSource) else open_source(source)
        return self._consume(frames, display, output, jsonl, log or _log, static=False)

    def run_webcam_demo(self, camera: int = 0) -> RunSummary:
        """Shows live recognition from a camera until ``q`` is pressed (or Ctrl-C).

        Args:
            camera: The camera index.

        Returns:
            Counts and timings of the run.
        """
        return self.run(int(camera), display=True)

    def classify_folder(
        self,
        folder: str | os.PathLike,
        display: bool = False,
        output: str | os.PathLike | None = None,
        jsonl: str | os.PathLike | None = None,
        *,
        log: Callable[[str], None] | None = None,
    ) -> RunSummary:
        """Classifies each image of a folder on its own (``--static-images``).

        Args:
            folder: A folder of images (name order).
            display: Show each annotated image.
            output: Write the annotated images as frames of this video file.
            jsonl: Write one JSON line per image (``source`` is the image's path).
            log: Receives progress messages (standard error by default).

        Returns:
            Counts and timings of the run.

        Raises:
            InputError: If the folder holds no images or an output cannot be written.
        """
        frames = ImageFolderSource(folder)
        return self._consume(frames, display, output, jsonl, log or _log, static=True)

    def _consume(
        self,
        frames: FrameSource,
        display: bool,
        output: str | os.PathLike | None,
        jsonl: str | os.PathLike | None,
        log: Callable[[str], None],
        static: bool,
    ) -> RunSummary:
        if display and not display_available():
            log("no display found (DISPLAY is not set): running without a window")
            display = False
        summary = RunSummary()
        video = VideoSink(output, frames.fps) if output is not None else None
        lines = JsonLinesSink(jsonl) if jsonl is not None else None
        window = "hand-gesture" if display else None
        fps_meter = FpsMeter()
        try:
            with frames, contextlib.closing(self.stream(frames, static=static)) as steps:
                for step in steps:
                    prediction, frame = step.prediction, step.frame
                    where = {"source": step.name} if static else {"frame": step.index}
                    summary.add(prediction)
                    if lines is not None:
                        lines.write(prediction.record(**where))
                    if video is None and window is None:
                        continue
                    annotated = draw_overlay(frame, prediction, fps_meter.tick())
                    if video is not None:
                        video.write(annotated)
                    if window is not None and not show(window, annotated):
                        break
        except KeyboardInterrupt:
            log("interrupted: stopping")
        except BaseException:
            for sink in (video, lines):
                if sink is not None:
                    sink.abort()
            raise
        finally:
            if window is not None:
                close_windows()
        for sink in (video, lines):
            if sink is not None:
                sink.close()
        return summary

    def stream(
        self,
        frames: Iterable[tuple[np.ndarray, str]],
        static: bool = False,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Iterator[Step]:
        """The frame loop that ``predict``, ``inference.py`` and the app share.

        The window is cleared before the first frame and after the last (or when the caller
        stops early and closes the generator).

        Args:
            frames: ``(image, name)`` pairs, e.g. a :class:`FrameSource`.
            static: Classify each image on its own (:meth:`classify_image`) instead of as
                the next frame of one stream.
            transform: Applied to each image first (e.g. a resize); the step holds the result.

        Yields:
            One :class:`Step` per frame.
        """
        self.reset()
        try:
            for index, (frame, name) in enumerate(frames):
                if transform is not None:
                    frame = transform(frame)
                prediction = self.classify_image(frame) if static else self.process_frame(frame)
                yield Step(index, name, frame, prediction)
        finally:
            self.reset()


@dataclass(frozen=True)
class Step:
    """One frame of :meth:`RealTimeGestureRecognizer.stream`: where it was, what was said."""

    index: int
    name: str
    frame: np.ndarray
    prediction: Prediction


@dataclass
class RunSummary:
    """Counts and timings of a run."""

    frames: int = 0
    hands: int = 0
    labels: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, prediction: Prediction) -> None:
        """Counts one frame's prediction."""
        self.frames += 1
        self.hands += int(prediction.hand_detected)
        self.labels[prediction.label or prediction.state] += 1
        self.latencies_ms.append(prediction.latency_ms)

    def describe(self) -> str:
        """One line for people."""
        if not self.frames:
            return "no frames read"
        common = ", ".join(f"{label} {count}" for label, count in self.labels.most_common(4))
        return (
            f"{self.frames} frames, hand found in {self.hands / self.frames:.0%}, median "
            f"latency {float(np.median(self.latencies_ms)):.1f} ms; answers: {common}"
        )


# ---------------------------------------------------------------------------------------------
# Sources.


class FrameSource:
    """Frames of a source as ``(image, name)`` pairs; a context manager that releases it."""

    fps: float = _DEFAULT_FPS

    def __iter__(self) -> Iterator[tuple[np.ndarray, str]]:
        raise NotImplementedError

    def close(self) -> None:
        """Releases the source."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


#: The largest camera index tried (OpenCV's own limit is far above any real camera's).
MAX_CAMERA_INDEX = 9999


class CaptureSource(FrameSource):
    """A camera or a video file read with ``cv2.VideoCapture``.

    Raises:
        InputError: If it cannot be opened or yields no first frame.
    """

    def __init__(self, source: int | str | os.PathLike) -> None:
        import cv2

        self.camera = isinstance(source, int)
        what = f"camera {source}" if self.camera else str(source)
        if self.camera and not 0 <= source <= MAX_CAMERA_INDEX:
            raise InputError(
                f"{what}: no such camera (expected an index from 0 to {MAX_CAMERA_INDEX})"
            )
        if not self.camera:
            path = Path(source)
            if not path.is_file():
                raise InputError(f"{path}: video file not found")
            source = str(path)
        self._capture = cv2.VideoCapture(source)
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok or first is None:
            self._capture.release()
            if self.camera:
                raise InputError(f"{what} could not be opened (no such camera, or it is busy)")
            raise InputError(f"{what}: not a readable video")
        self._first: np.ndarray | None = first
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 240.0 else _DEFAULT_FPS
        self.name = what

    def __iter__(self) -> Iterator[tuple[np.ndarray, str]]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first, self.name
        while True:
            ok, frame = self._capture.read()
            if not ok or frame is None:
                return
            yield frame, self.name

    def close(self) -> None:
        """Releases the capture."""
        self._capture.release()


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files of a folder in name order (numbers by value: ``2.jpg`` before ``10.jpg``).

    Raises:
        InputError: If the folder does not exist or holds no images.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of images")
    images = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise InputError(f"{folder}: no images found (expected {', '.join(IMAGE_SUFFIXES)} files)")
    return sorted(images, key=_natural_key)


class ImageFolderSource(FrameSource):
    """The images of a folder in name order; unreadable files are skipped with a message.

    Raises:
        InputError: If the folder holds no images.
    """

    def __init__(self, folder: str | os.PathLike, log: Callable[[str], None] | None = None):
        self.paths = list_images(folder)
        self.folder = Path(folder)
        self._log = log or _log

    def __iter__(self) -> Iterator[tuple[np.ndarray, str]]:
        skipped = 0
        for path in self.paths:
            image = read_image(path)
            if image is None:
                skipped += 1
                continue
            yield image, str(path)
        if skipped:
            self._log(f"{self.folder}: skipped {skipped} unreadable image(s)")
        if skipped == len(self.paths):
            raise InputError(f"{self.folder}: none of its {skipped} images could be read")


def open_source(source: int | str | os.PathLike) -> FrameSource:
    """Opens a camera index (an int or digits), a video file or a folder of images.

    Raises:
        InputError: If the source does not exist or cannot be read.
    """
    if isinstance(source, int) or (isinstance(source, str) and source.strip().isdigit()):
        return CaptureSource(int(source))
    path = Path(source)
    if path.is_dir():
        return ImageFolderSource(path)
    if not path.exists():
        raise InputError(
            f"{path}: not found (expected a camera index, a video file or a folder of images)"
        )
    return CaptureSource(path)


# ---------------------------------------------------------------------------------------------
# Outputs.


class VideoSink:
    """Writes frames to a video through a temporary file renamed into place on :meth:`close`.

    Args:
        path: The video file; ``.avi`` gets MJPG, ``.webm`` VP8 (browser-playable), the
            others mp4v.
        fps: Frames per second.

    Raises:
        InputError: For an unsupported suffix.
    """

    def __init__(self, path: str | os.PathLike, fps: float = _DEFAULT_FPS) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(
                f"--output {self.path}: expected a video file ({', '.join(VIDEO_SUFFIXES)})"
            )
        self.fps = float(fps)
        self._tmp: Path | None = None
        self._writer = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Appends a BGR frame (resized to the first frame's size if it differs)."""
        import cv2

        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        if self._writer is None:
            codec = _CODECS.get(self.path.suffix.lower(), "mp4v")
            self._size = (frame.shape[1], frame.shape[0])
            self._tmp = atomic_output(self.path)
            self._writer = cv2.VideoWriter(
                str(self._tmp), cv2.VideoWriter_fourcc(*codec), self.fps, self._size
            )
            if not self._writer.isOpened():
                self.abort()
                raise InputError(f"--output {self.path}: cannot write a {codec} video there")
        if (frame.shape[1], frame.shape[0]) != self._size:
            frame = cv2.resize(frame, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self) -> None:
        """Finishes the file and moves it into place (nothing is written without frames)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            os.replace(self._tmp, self.path)
            self._tmp = None

    def abort(self) -> None:
        """Drops the partial file."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


class JsonLinesSink:
    """Writes one JSON object per line through a temporary file renamed on :meth:`close`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._tmp = atomic_output(self.path)
        self._handle = self._tmp.open("w", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        """Appends one record."""
        self._handle.write(json.dumps(record) + "\n")

    def close(self) -> None:
        """Finishes the file and moves it into place."""
        self._handle.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drops the partial file."""
        self._handle.close()
        self._tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Drawing and display.


class FpsMeter:
    """Frames per second over the recent frames (an exponential moving average)."""

    def __init__(self, weight: float = 0.1) -> None:
        self.weight = weight
        self._last: float | None = None
        self.fps = 0.0

    def tick(self) -> float:
        """Records a frame now; returns the current estimate (0 on the first call)."""
        now = time.perf_counter()
        if self._last is not None and now > self._last:
            current = 1.0 / (now - self._last)
            self.fps = current if self.fps == 0 else self.fps + self.weight * (current - self.fps)
        self._last = now
        return self.fps


def landmark_pixels(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Pixel positions ``(21, 2)`` of normalised landmarks in an image of ``shape``.

    Landmarks are normalised by the aspect-corrected image's width and height, which scale
    with the original's, so they map onto the frame as read (a Leap frame too).
    """
    height, width = shape[:2]
    points = np.asarray(landmarks, dtype=np.float64)[:, :2] * (width, height)
    return np.round(points).astype(np.int32)


def draw_hand(image: np.ndarray, landmarks: np.ndarray) -> None:
    """Draws a hand's skeleton onto a BGR image in place.

    Args:
        image: The BGR image (drawn on).
        landmarks: ``(21, 3)`` normalised landmarks (see :func:`landmark_pixels`).
    """
    import cv2

    unit = max(1, round(min(image.shape[:2]) / 240))
    points = landmark_pixels(landmarks, image.shape)
    for a, b in HAND_CONNECTIONS:
        cv2.line(image, tuple(points[a]), tuple(points[b]), (0, 255, 0), unit, cv2.LINE_AA)
    for x, y in points:
        cv2.circle(image, (int(x), int(y)), unit + 1, (0, 0, 255), -1, cv2.LINE_AA)


def draw_text_rows(image: np.ndarray, rows: Iterable[tuple[str, tuple[int, int, int]]]) -> None:
    """Writes lines of text, each on a black band, from the top-left corner of an image in place.

    Args:
        image: The BGR image (drawn on).
        rows: ``(text, BGR colour)`` pairs, top to bottom.
    """
    import cv2

    scale = max(0.4, image.shape[1] / 1000)
    thickness = max(1, round(scale * 2))
    for row, (text, text_colour) in enumerate(rows):
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = 4 + row * (h + base + 6)
        cv2.rectangle(image, (2, top), (8 + w, top + h + base + 4), (0, 0, 0), -1)
        cv2.putText(
            image,
            text,
            (5, top + h + 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            text_colour,
            thickness,
            cv2.LINE_AA,
        )


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """A BGR copy of a BGR or grayscale frame, to draw on."""
    import cv2

    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame.copy()


def draw_overlay(frame: np.ndarray, prediction: Prediction, fps: float | None = None) -> np.ndarray:
    """Draws the hand's skeleton, the answer, the hand status and the FPS on a copy of a frame.

    Args:
        frame: The BGR or grayscale frame.
        prediction: What the recognizer said about it.
        fps: Frames per second to show, if any.

    Returns:
        The annotated BGR copy.
    """
    image = as_bgr(frame)
    if prediction.landmarks is not None:
        draw_hand(image, prediction.landmarks)
    if prediction.state == GESTURE:
        answer, colour = f"{prediction.label} {prediction.confidence:.0%}", (0, 255, 0)
    elif prediction.state == UNCERTAIN:
        guess = f" ({prediction.candidate}?)" if prediction.candidate else ""
        answer, colour = f"uncertain{guess} {prediction.confidence:.0%}", (0, 200, 255)
    elif prediction.state == NOT_GESTURE and prediction.points_down:
        answer, colour = "not a gesture (hand down)", (200, 200, 200)
    elif prediction.state == NOT_GESTURE and prediction.off_shape:
        answer, colour = f"not a gesture (not {prediction.candidate})", (200, 200, 200)
    elif prediction.state == NOT_GESTURE:
        answer, colour = f"not a gesture {prediction.confidence:.0%}", (200, 200, 200)
    elif prediction.state == WARMING_UP:
        answer, colour = "collecting frames...", (255, 255, 0)
    else:
        answer, colour = "no hand", (0, 0, 255)
    status = "hand: found" if prediction.hand_detected else "hand: not found"
    if fps:
        status += f"  FPS {fps:.0f}"
    draw_text_rows(image, ((answer, colour), (status, (255, 255, 255))))
    return image


def display_available() -> bool:
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def show(window: str, image: np.ndarray) -> bool:
    """Shows a frame; returns False when the user pressed ``q`` (or Esc) or closed it."""
    import cv2

    cv2.imshow(window, image)
    key = cv2.waitKey(1) & 0xFF
    if key in (ord("q"), 27):
        return False
    try:
        return cv2.getWindowProperty(window, cv2.WND_PROP_VISIBLE) >= 1
    except cv2.error:
        return False


def close_windows() -> None:
    """Closes the display windows."""
    import cv2

    cv2.destroyAllWindows()
    cv2.waitKey(1)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The command.


def resolve_model(args: Any) -> Path:
    """The model directory named by ``--model``, or downloaded from ``--repo``.

    Raises:
        InputError: If the directory is missing or the download fails.
    """
    if getattr(args, "model", None) is not None:
        path = Path(args.model)
        if not path.exists():
            raise InputError(f"--model {path}: no such model directory or file")
        return path
    token = getattr(args, "token", None) or os.environ.get("HF_TOKEN") or None
    return Path(download_model(args.repo, revision=getattr(args, "revision", None), token=token))


def check_predict_outputs(args: Any) -> None:
    """Checks ``--output`` and ``--jsonl`` before anything runs.

    Neither may be the source or one of a source folder's images (even with ``--force``) or
    the other output, nor an existing file without ``--force``; each must be writable.

    Args:
        args: The parsed ``predict`` arguments.

    Raises:
        InputError: Naming the option and the file.
    """
    force = bool(getattr(args, "force", False))
    source = str(args.source)
    inputs = [] if source.isdigit() or not Path(source).exists() else [("--source", source)]
    if Path(source).is_dir():
        images = Path(source).iterdir()
        inputs += [("--source", p) for p in images if p.suffix.lower() in IMAGE_SUFFIXES]
    named = (("--output", args.output), ("--jsonl", args.jsonl))
    outputs = [(name, path) for name, path in named if path is not None]
    for name, path in outputs:
        check_output_file(path, name, force=force, inputs=inputs)
    if len(outputs) == 2 and same_file(outputs[0][1], outputs[1][1]):
        raise InputError(f"--jsonl {args.jsonl}: is also --output; choose two files")


def predict_command(args: Any) -> int:
    """Runs ``hand-gesture predict`` (see :func:`hand_gesture_recognition.cli.main`).

    Args:
        args: Parsed arguments: ``model`` or ``repo`` (with ``revision`` and ``token``),
            ``source``, ``output``, ``jsonl``, ``no_display``, ``static_images``,
            ``threshold``, ``smoothing``.

    Returns:
        The exit status (0).

    Raises:
        InputError: For a bad source, model or output.
    """
    if args.repo is None and (args.revision is not None or args.token is not None):
        raise InputError("--revision and --token: apply to --repo only (a Hub model)")
    if args.output is not None and Path(args.output).suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(
            f"--output {args.output}: expected a video file ({', '.join(VIDEO_SUFFIXES)})"
        )
    check_predict_outputs(args)
    # The source is checked before the model is loaded: opening it is cheap, loading is not.
    if args.static_images:
        list_images(args.source)
        source: FrameSource | None = None
    else:
        source = open_source(args.source)
    try:
        model_dir = resolve_model(args)
        recognizer = RealTimeGestureRecognizer(
            model_dir, threshold=args.threshold, smoothing=getattr(args, "smoothing", 5)
        )
    except BaseException:
        if source is not None:
            source.close()
        raise
    display = not args.no_display
    with recognizer:
        if args.static_images:
            summary = recognizer.classify_folder(args.source, display, args.output, args.jsonl)
        else:
            summary = recognizer.run(source, display, args.output, args.jsonl)
    _log(summary.describe())
    for what, path in (("annotated video", args.output), ("JSON lines", args.jsonl)):
        if path is not None and Path(path).exists():
            _log(f"wrote {what} to {path}")
    return 0
