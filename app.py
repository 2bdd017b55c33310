"""Gradio app: hand gesture recognition on an uploaded or recorded clip, or on one photo.

Run it locally with ``uv run python app.py`` (http://127.0.0.1:7860); on a Hugging Face Space
it is the ``app_file``. The model comes from the environment, read when the demo is built and
when a model is first needed (never at import):

* ``HGR_REPO``: a Hugging Face Hub model repository (``USER/NAME``), downloaded with
  :func:`hand_gesture_recognition.hub.download_model` (``HGR_REVISION`` picks a branch, tag or
  commit; ``HF_TOKEN`` is used for a private one). It takes precedence over
* ``HGR_MODEL_DIR``: a local model directory (default ``models``).

``HGR_MAX_UPLOAD_MB`` (default 50) limits the size of an uploaded file, ``HGR_MAX_FRAMES``
(default 900) the number of frames of a clip that are processed, and ``HGR_FINETUNE_EPOCHS``
(default 30) the epochs of fine-tuning in the "Your gestures" tab.

The "Your gestures" tab turns clips into takes with
:func:`~hand_gesture_recognition.record.add_clip_take`, fine-tunes the app's model on them with
:func:`~hand_gesture_recognition.train.train_on_takes` (as ``train --init`` does) into the
session's temporary folder, recognises with the result, and zips it with
:func:`~hand_gesture_recognition.storage.zip_directory`.

Recognition, drawing and reading files are the package's own
(:class:`~hand_gesture_recognition.realtime.RealTimeGestureRecognizer`,
:func:`~hand_gesture_recognition.realtime.draw_overlay`); this module only turns files into
frames, frames into page outputs, and errors into messages on the page.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from hand_gesture_recognition.calibration import REJECTION_LABEL
from hand_gesture_recognition.config import FinetuneConfig
from hand_gesture_recognition.errors import InputError

DEFAULT_MODEL_DIR = "models"
DEFAULT_MAX_UPLOAD_MB = 50.0
DEFAULT_MAX_FRAMES = 900
#: Frames larger than this (longer side, pixels) are scaled down before recognition and output.
MAX_FRAME_SIDE = 960
#: Annotated clips older than this are removed from the app's output folder.
OUTPUT_MAX_AGE_S = 3600
#: Height in pixels of the annotated clip and photo on the page.
VIDEO_HEIGHT = 360
TIMELINE_COLUMNS = ("time (s)", "confidence", "gesture")
NO_HAND_LABEL = "no hand"
WARMING_UP_LABEL = "collecting frames"

_model_lock = threading.Lock()
_model_cache: dict[str, Any] = {"key": None, "recognizer": None}


# ---------------------------------------------------------------------------------------------
# Settings from the environment.


@dataclass(frozen=True)
class ModelSource:
    """Where the model comes from: a Hub repository or a local directory."""

    repo: str | None
    revision: str | None
    directory: Path

    @property
    def key(self) -> str:
        """Identifies the model; a changed key means the cached model is stale."""
        if self.repo:
            return f"hub:{self.repo}@{self.revision or 'main'}"
        return f"dir:{self.directory.resolve()}"

    def fetch(self) -> Path:
        """Returns the model directory, downloading it from the Hub when it lives there.

        Raises:
            InputError: If the directory is missing or the download fails.
        """
        if self.repo:
            from hand_gesture_recognition.hub import download_model

            token = os.environ.get("HF_TOKEN") or None
            return Path(download_model(self.repo, revision=self.revision, token=token))
        if not self.directory.exists():
            raise InputError(f"{self.directory}: no such model directory")
        return self.directory

    def describe(self) -> str:
        """Where the model comes from, for people."""
        if self.repo:
            revision = f" (revision `{self.revision}`)" if self.revision else ""
            return f"Hugging Face Hub repository `{self.repo}`{revision}"
        return f"local directory `{self.directory}`"


def model_source() -> ModelSource:
    """Reads ``HGR_REPO``, ``HGR_REVISION`` and ``HGR_MODEL_DIR`` from the environment."""
    return ModelSource(
        repo=os.environ.get("HGR_REPO", "").strip() or None,
        revision=os.environ.get("HGR_REVISION", "").strip() or None,
        directory=Path(os.environ.get("HGR_MODEL_DIR", "").strip() or DEFAULT_MODEL_DIR),
    )


def _env_number(name: str, default: float, cast: type = float) -> Any:
    text = os.environ.get(name, "").strip()
    if not text:
        return cast(default)
    try:
        value = cast(text)
    except ValueError:
        kind = "a whole number" if cast is int else "a number"
        raise InputError(f"{name}={text!r}: expected {kind} above 0") from None
    if not value > 0 or value == float("inf"):
        raise InputError(f"{name}={text!r}: expected a finite number above 0")
    return value


def max_upload_mb() -> float:
    """The upload size limit in megabytes (``HGR_MAX_UPLOAD_MB``, default 50)."""
    return _env_number("HGR_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB, float)


def max_frames() -> int:
    """The most frames of a clip that are processed (``HGR_MAX_FRAMES``, default 900)."""
    return _env_number("HGR_MAX_FRAMES", DEFAULT_MAX_FRAMES, int)


# ---------------------------------------------------------------------------------------------
# The model, loaded on first use and kept.


def get_recognizer():
    """Returns the recognizer for the configured model, loading it on first use.

    The caller must hold ``_model_lock``: the recognizer keeps a window of recent frames, so
    requests take turns with it.

    Returns:
        A :class:`~hand_gesture_recognition.realtime.RealTimeGestureRecognizer`.

    Raises:
        gr.Error: If the model cannot be found, downloaded or loaded.
    """
    from hand_gesture_recognition.realtime import RealTimeGestureRecognizer

    source = model_source()
    if _model_cache["key"] == source.key:
        return _model_cache["recognizer"]
    try:
        recognizer = RealTimeGestureRecognizer(source.fetch())
    except InputError as error:
        raise gr.Error(
            f"The model could not be loaded from the {source.describe()}: {error}. "
            "Set HGR_MODEL_DIR to a trained model directory or HGR_REPO to a Hub repository."
        ) from None
    previous = _model_cache["recognizer"]
    if previous is not None:
        previous.close()
    _model_cache.update(key=source.key, recognizer=recognizer)
    return recognizer


# ---------------------------------------------------------------------------------------------
# Processing functions (plain functions: the page calls them, and so can tests).


def check_upload(path: str | os.PathLike | None, what: str) -> Path:
    """Checks that an uploaded file exists and is within the size limit.

    Args:
        path: The uploaded file's path (None when nothing was uploaded).
        what: ``clip`` or ``photo``, for the messages.

    Returns:
        The path.

    Raises:
        gr.Error: With a message for the page.
    """
    if not path:
        raise gr.Error(f"Upload a {what} first.")
    file = Path(path)
    if not file.is_file():
        raise gr.Error(f"The {what} could not be found on the server; upload it again.")
    limit = max_upload_mb()
    # Megabytes as Gradio counts them for max_file_size (2**20 bytes).
    size_mb = file.stat().st_size / 2**20
    if size_mb > limit:
        raise gr.Error(
            f"The {what} is {size_mb:.1f} MB; the limit is {limit:g} MB. Upload a shorter or "
            "smaller file."
        )
    return file


def _fit(frame: np.ndarray) -> np.ndarray:
    import cv2

    height, width = frame.shape[:2]
    if max(height, width) <= MAX_FRAME_SIDE:
        return frame
    factor = MAX_FRAME_SIDE / max(height, width)
    size = (max(2, round(width * factor)), max(2, round(height * factor)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _output_path(suffix: str) -> Path:
    """A fresh file name in the app's output folder, after removing old outputs."""
    folder = Path(tempfile.gettempdir()) / "hand-gesture-app"
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.iterdir():
        try:
            if now - old.stat().st_mtime > OUTPUT_MAX_AGE_S:
                old.unlink()
        except OSError:
            pass
    return folder / f"{uuid.uuid4().hex}{suffix}"


def _timeline_row(prediction, time_s: float) -> dict[str, Any]:
    from hand_gesture_recognition.realtime import WARMING_UP

    if prediction.probabilities is not None:
        gesture = prediction.candidate
    elif prediction.state == WARMING_UP:
        gesture = WARMING_UP_LABEL
    else:
        gesture = NO_HAND_LABEL
    return {
        "time (s)": round(time_s, 3),
        "confidence": round(float(prediction.confidence), 4),
        "gesture": gesture,
    }


def _answer(
    gesture: str,
    confidence: float,
    threshold: float,
    points_down: bool = False,
    off_shape: bool = False,
) -> str:
    """The answer in Markdown, marked uncertain under the recognizer's threshold.

    Args:
        gesture: The most likely class.
        confidence: Its probability.
        threshold: The recognizer's confidence threshold.
        points_down: The recognizer answered "not a gesture" because the hand points down
            (its calibration's orientation rule); ``gesture`` is then only a best guess.
        off_shape: The recognizer answered "not a gesture" because the fingers are not
            held as in ``gesture`` (its calibration's finger rule).
    """
    if gesture == REJECTION_LABEL:
        return f"**Not a gesture** ({confidence:.0%} for the model's `{REJECTION_LABEL}` class)"
    if points_down:
        return (
            "**Not a gesture**: the hand points down, as a resting hand does (best guess "
            f"`{gesture}`, {confidence:.0%})"
        )
    if off_shape:
        return (
            f"**Not a gesture**: the fingers are not held as in `{gesture}`, the closest "
            f"gesture ({confidence:.0%})"
        )
    answer = f"**Gesture: {gesture}** ({confidence:.0%}"
    if confidence < threshold:
        answer += f", uncertain: under the confidence threshold of {threshold:.0%}"
    return answer + ")"


def recognize_video(
    video: str | os.PathLike | None,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio injects the request's tracker.
) -> tuple[str | None, dict[str, float] | None, pd.DataFrame, str]:
    """Recognises the gestures of a clip.

    Args:
        video: The clip's path.
        progress: Gradio's progress tracker (a no-op outside a request).

    Returns:
        The annotated clip (a ``.webm`` path, or None), the top gestures of the clip with their
        mean probabilities over the frames that were classified (None when no frame was),
        the per-frame timeline (time, confidence, gesture) and a status message in Markdown.

    Raises:
        gr.Error: For a missing, too large or unreadable file, or a model that cannot be
            loaded.
    """
    return _recognize_clip(video, get_recognizer, _model_lock, progress)


def _recognize_clip(
    video: str | os.PathLike | None,
    load: Callable[[], Any],
    lock: threading.Lock,
    progress: gr.Progress,
) -> tuple[str | None, dict[str, float] | None, pd.DataFrame, str]:
    """:func:`recognize_video` with the recognizer ``load`` returns, used while holding ``lock``."""
    from hand_gesture_recognition.realtime import CaptureSource, VideoSink, draw_overlay

    path = check_upload(video, "clip")
    try:
        source = CaptureSource(path)
    except InputError:
        raise gr.Error(
            f"{path.name} could not be read as a video. Upload a video file "
            "(for example .mp4 or .webm), or record one with the webcam."
        ) from None
    limit = max_frames()
    out = _output_path(".webm")
    writer = VideoSink(out, source.fps)
    rows: list[dict[str, Any]] = []
    probabilities: list[np.ndarray] = []
    pointing_down = off_shape = 0
    hands = 0
    truncated = False
    try:
        with lock:
            recognizer = load()
            # One frame more than the limit tells that the clip was longer.
            frames = itertools.islice(source, limit + 1)
            with contextlib.closing(recognizer.stream(frames, transform=_fit)) as steps:
                for step in steps:
                    if step.index >= limit:
                        truncated = True
                        break
                    prediction = step.prediction
                    hands += int(prediction.hand_detected)
                    if prediction.probabilities is not None:
                        probabilities.append(prediction.probabilities)
                        pointing_down += int(prediction.points_down)
                        off_shape += int(prediction.off_shape)
                    rows.append(_timeline_row(prediction, step.index / source.fps))
                    writer.write(draw_overlay(step.frame, prediction))
                    if step.index % 10 == 0:
                        progress((step.index + 1, None), desc="recognising frames", unit="frames")
            gestures = list(recognizer.gestures)
            threshold = recognizer.threshold
    finally:
        source.close()
        writer.close()
    frames = len(rows)
    if frames == 0:
        out.unlink(missing_ok=True)
        raise gr.Error(f"{path.name} has no frames that could be read.")
    seconds = frames / source.fps
    clip = f"{frames} frames ({seconds:.1f} s at {source.fps:.0f} fps)"
    if truncated:
        clip += f", stopped at the limit of {limit} frames"
    timeline = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    if hands == 0:
        message = (
            f"No hand was found in any of the {frames} frames of this clip. Film the whole "
            "hand, well lit, against a plain background."
        )
        gr.Warning(message)
        return str(out), None, timeline, f"**{message}**\n\n{clip}."
    coverage = f"a hand was found in {hands} ({hands / frames:.0%})"
    if not probabilities:
        needed = recognizer.sequence_length
        message = (
            f"The hand was not seen for long enough to recognise a gesture: the model needs "
            f"{needed} consecutive frames with a hand."
        )
        gr.Warning(message)
        return str(out), None, timeline, f"**{message}**\n\n{clip}; {coverage}."
    mean = np.mean(probabilities, axis=0)
    scores = {gesture: float(p) for gesture, p in zip(gestures, mean, strict=True)}
    best = max(scores, key=scores.get)
    # Most classified frames' hands pointed down, or were not held as a gesture: the clip's
    # answer says so too.
    half = len(probabilities) / 2
    answer = _answer(best, scores[best], threshold, pointing_down > half, off_shape > half)
    status = (
        f"{answer}; mean probability over the {len(probabilities)} classified frames."
        f"\n\n{clip}; {coverage}."
    )
    return str(out), scores, timeline, status


def recognize_image(
    image: str | os.PathLike | None,
) -> tuple[np.ndarray | None, dict[str, float] | None, str]:
    """Recognises the gesture in one photo (its landmarks held for a whole window).

    Args:
        image: The photo's path.

    Returns:
        The photo with the landmarks and the answer drawn (RGB), the gestures with their
        probabilities (None when no hand was found) and a status message in Markdown.

    Raises:
        gr.Error: For a missing, too large or unreadable file, or a model that cannot be
            loaded.
    """
    import cv2

    from hand_gesture_recognition.realtime import draw_overlay, read_image

    path = check_upload(image, "photo")
    frame = read_image(path)
    if frame is None:
        raise gr.Error(
            f"{path.name} could not be read as an image. Upload a photo (.jpg, .png, .webp)."
        )
    frame = _fit(frame)
    with _model_lock:
        recognizer = get_recognizer()
        prediction = recognizer.classify_image(frame)
        gestures = list(recognizer.gestures)
    annotated = cv2.cvtColor(draw_overlay(frame, prediction), cv2.COLOR_BGR2RGB)
    if prediction.probabilities is None:
        message = "No hand was found in this photo. Show the whole hand, well lit."
        gr.Warning(message)
        return annotated, None, f"**{message}**"
    scores = {g: float(p) for g, p in zip(gestures, prediction.probabilities, strict=True)}
    status = _answer(
        prediction.candidate,
        prediction.confidence,
        recognizer.threshold,
        prediction.points_down,
        prediction.off_shape,
    )
    status += "."
    return annotated, scores, status


# ---------------------------------------------------------------------------------------------
# "Your gestures": takes of the user's own gestures, a fine-tuned personal model, its zip.


@dataclass
class PersonalSession:
    """One browser session's takes and fine-tuned model (kept in a ``gr.State``).

    Attributes:
        folder: The session's temporary folder (takes file, models, zips); removed when the
            session ends.
        takes: The takes so far, a landmark table (None before the first).
        model_dir: The latest fine-tuned model directory (None before the first); a new one
            replaces it, and the older one and its zip are removed.
        archive: Its zip.
        runs: Fine-tuning runs so far (each writes a fresh model directory).
    """

    folder: Path
    takes: Any = None
    model_dir: Path | None = None
    archive: Path | None = None
    runs: int = 0


TAKES_COLUMNS = ("gesture", "takes", "frames", "hand found")
#: Takes one session may collect.
MAX_TAKES = 60
#: Fine-tuned models kept loaded for trying them (the least recently used is closed first).
MAX_PERSONAL_MODELS = 4
_personal_lock = threading.Lock()
_personal_models: OrderedDict[str, Any] = OrderedDict()


def finetune_epochs() -> int:
    """Most epochs of fine-tuning (``HGR_FINETUNE_EPOCHS``; early stopping may end sooner)."""
    return _env_number("HGR_FINETUNE_EPOCHS", FinetuneConfig.epochs, int)


def _session(session: PersonalSession | None) -> PersonalSession:
    if session is not None and session.folder.is_dir():
        return session
    root = Path(tempfile.gettempdir()) / "hand-gesture-app-sessions"
    root.mkdir(parents=True, exist_ok=True)
    return PersonalSession(Path(tempfile.mkdtemp(prefix="session-", dir=root)))


def end_session(session: PersonalSession | None) -> None:
    """Removes a session's folder and closes its fine-tuned model (the state's delete hook)."""
    if session is None:
        return
    if session.model_dir is not None:
        with _personal_lock:
            recognizer = _personal_models.pop(str(session.model_dir), None)
            if recognizer is not None:
                recognizer.close()
    shutil.rmtree(session.folder, ignore_errors=True)


def takes_table(session: PersonalSession | None) -> pd.DataFrame:
    """The takes so far: takes, frames and the share of frames with a hand, per gesture."""
    from hand_gesture_recognition.record import takes_per_gesture

    rows = [
        {"gesture": g, "takes": n, "frames": f, "hand found": f"{d / max(f, 1):.0%}"}
        for g, (n, f, d) in takes_per_gesture(session.takes if session else None).items()
    ]
    return pd.DataFrame(rows, columns=list(TAKES_COLUMNS))


def add_take(
    session: PersonalSession | None,
    gesture: str | None,
    video: str | os.PathLike | None,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio injects the request's tracker.
) -> tuple[PersonalSession, pd.DataFrame, str, str | None]:
    """Adds a recorded or uploaded clip as one take of a gesture.

    The hand is found with the extractor live recognition uses (the model's, in tracking
    mode), through :func:`hand_gesture_recognition.record.add_clip_take`.

    Args:
        session: The session's takes (None at first).
        gesture: The gesture's name (see :func:`hand_gesture_recognition.record.check_label`).
        video: The clip's path.
        progress: Gradio's progress tracker.

    Returns:
        The session, the takes per gesture, a status message in Markdown and the clip input's
        new value: None (cleared for the next take) once the clip was added; a clip without
        enough hand is refused with a warning and the reason in the status, and kept.

    Raises:
        gr.Error: For a bad gesture name, a missing, too large or unreadable clip, too many
            takes, or a model that cannot be loaded.
    """
    from hand_gesture_recognition.record import add_clip_take, check_label, takes_per_gesture

    try:
        gesture = check_label(gesture or "", "The gesture name")
    except InputError as error:
        raise gr.Error(f"{error}.") from None
    path = check_upload(video, "clip")
    session = _session(session)
    count = 0 if session.takes is None else len(set(session.takes.sequence.tolist()))
    if count >= MAX_TAKES:
        raise gr.Error(f"This session has {count} takes, the most it keeps; clear them first.")
    progress(None, desc="finding the hand in the clip")
    try:
        with _model_lock:
            recognizer = get_recognizer()
            takes = add_clip_take(
                session.takes,
                path,
                gesture,
                recognizer.extractor,
                max_frames=max_frames(),
                min_frames=recognizer.sequence_length,
                transform=_fit,
            )
    except InputError as error:
        if "could not be read as a video" in str(error):
            raise gr.Error(
                f"{error}. Upload a video file (for example .mp4 or .webm), or record one."
            ) from None
        message = (
            f"The clip was not added: {error}. Film the whole hand, well lit, for at least "
            "a few seconds."
        )
        gr.Warning(message)
        return session, takes_table(session), f"**{message}**", str(path)
    session.takes = takes
    added = takes.meta["recordings"][-1]
    number = takes_per_gesture(takes)[gesture][0]
    status = (
        f"Added take {number} of **{gesture}**: {added['frames']} frames, hand found in "
        f"{added['detected']}. Fine-tune when every gesture has at least two takes."
    )
    return session, takes_table(session), status, None


def clear_takes(
    session: PersonalSession | None,
) -> tuple[PersonalSession | None, pd.DataFrame, str]:
    """Forgets the session's takes (a fine-tuned model stays).

    Returns:
        The session, the (empty) takes per gesture and a status message.
    """
    if session is not None:
        session.takes = None
    return session, takes_table(session), "The takes were cleared."


def personal_recognizer(model_dir: str | os.PathLike) -> Any:
    """The recognizer of a fine-tuned model, loaded on first use; hold ``_personal_lock``."""
    from hand_gesture_recognition.realtime import RealTimeGestureRecognizer

    key = str(model_dir)
    if key in _personal_models:
        _personal_models.move_to_end(key)
        return _personal_models[key]
    recognizer = RealTimeGestureRecognizer(model_dir)
    _personal_models[key] = recognizer
    while len(_personal_models) > MAX_PERSONAL_MODELS:
        _, old = _personal_models.popitem(last=False)
        old.close()
    return recognizer


def finetune(
    session: PersonalSession | None,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio injects the request's tracker.
) -> tuple[PersonalSession | None, str, str | None]:
    """Fine-tunes the app's model on the session's takes into a fresh model directory.

    :func:`hand_gesture_recognition.train.train_on_takes` fine-tunes the app's model (the
    base) on them with ``train --init``'s settings (split ``none``, at most
    :func:`finetune_epochs` epochs). The new model
    is zipped for download and is what the tab's own input recognises with from then on.

    Args:
        session: The session's takes.
        progress: Gradio's progress tracker (stages: preparing, training, packing).

    Returns:
        The session, a status message in Markdown and the model's zip.

    Raises:
        gr.Error: Without Keras (the inference install), without two gestures of at least two
            takes each, or when fine-tuning fails.
    """
    from hand_gesture_recognition import model
    from hand_gesture_recognition.record import check_takes
    from hand_gesture_recognition.storage import zip_directory
    from hand_gesture_recognition.train import train_on_takes

    if not model.installed("keras"):
        raise gr.Error(
            "Fine-tuning needs Keras and TensorFlow, which this install (the inference set) "
            f"does not have: use {model.TRAIN_INSTALL_HINT}. Recognition works without them."
        )
    try:
        check_takes(session.takes if session else None)
    except InputError as error:
        raise gr.Error(f"Record more takes: {error}.") from None
    session = _session(session)
    source = model_source()
    progress(0.02, desc="preparing: the base model")
    try:
        base = model.load_model(source.fetch())
    except InputError as error:
        raise gr.Error(
            f"The base model could not be loaded from the {source.describe()}: {error}."
        ) from None
    session.runs += 1
    out = session.folder / f"model-{session.runs}"
    progress(0.2, desc="training and exporting (this takes a while)")
    try:
        result = train_on_takes(
            session.takes, base, FinetuneConfig(), out, epochs=finetune_epochs()
        )
    except InputError as error:
        raise gr.Error(f"Fine-tuning failed: {error}.") from None
    progress(0.9, desc="packing the model directory")
    archive = zip_directory(
        out, session.folder / f"personal-model-{session.runs}.zip", folder="personal-model"
    )
    previous = (session.model_dir, session.archive)
    session.model_dir, session.archive = out, archive
    with _personal_lock:
        if previous[0] is not None:
            old = _personal_models.pop(str(previous[0]), None)
            if old is not None:
                old.close()
            # The page holds its own copy of the previous zip.
            shutil.rmtree(previous[0], ignore_errors=True)
            previous[1].unlink(missing_ok=True)
        personal_recognizer(out)
    validation = (result.metrics.get("validation") or {}).get("accuracy")
    checked = (
        f"; {validation:.0%} of the held-out take windows right" if validation is not None else ""
    )
    status = (
        f"**Fine-tuned model ready: {', '.join(result.gestures)}** "
        f"({result.metrics['training']['epochs_run']} epochs{checked}), fine-tuned from the "
        f"{source.describe()}. Try it below, or download it as a model directory "
        "(`hand-gesture predict --model-dir personal-model`)."
    )
    progress(1.0, desc="done")
    return session, status, str(archive)


def recognize_personal(
    session: PersonalSession | None,
    video: str | os.PathLike | None,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio injects the request's tracker.
) -> tuple[str | None, dict[str, float] | None, pd.DataFrame, str]:
    """Recognises the gestures of a clip with the session's fine-tuned model.

    Args:
        session: The session (its ``model_dir``).
        video: The clip's path.
        progress: Gradio's progress tracker.

    Returns:
        As :func:`recognize_video`.

    Raises:
        gr.Error: Before fine-tuning, or as :func:`recognize_video`.
    """
    if session is None or session.model_dir is None:
        raise gr.Error("Fine-tune your model first: add takes of your gestures, then Fine-tune.")
    model_dir = session.model_dir
    return _recognize_clip(video, lambda: personal_recognizer(model_dir), _personal_lock, progress)


# ---------------------------------------------------------------------------------------------
# The page.


def _read_errors_as_messages(image: gr.Image) -> gr.Image:
    """Makes an image input answer an unreadable upload with a clear message.

    ``gr.Image`` opens uploads with Pillow before the app's function runs, and a file Pillow
    cannot read would otherwise end the request with a generic server error. The instance's
    ``preprocess`` is wrapped rather than the class subclassed: Gradio writes a ``.pyi`` stub
    beside the module of every component subclass.

    Args:
        image: The input component.

    Returns:
        The same component.
    """
    preprocess = image.preprocess

    def checked(payload):
        try:
            return preprocess(payload)
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001 - whatever Pillow fails with, the file is unusable.
            name = Path(getattr(payload, "orig_name", None) or payload.path or "the file").name
            raise gr.Error(
                f"{name} could not be read as an image. Upload a photo (.jpg, .png, .webp)."
            ) from None

    image.preprocess = checked
    return image


def theme() -> gr.themes.Base:
    """The page's theme: Gradio's default with fonts served by the app (no font CDN)."""
    return gr.themes.Default(
        font=[gr.themes.LocalFont("Source Sans Pro"), "ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=[gr.themes.LocalFont("IBM Plex Mono"), "ui-monospace", "monospace"],
    )


def launch_options() -> dict[str, Any]:
    """Keyword arguments for ``demo.launch``: the theme and the upload size limit.

    The limit goes in bytes: Gradio reads a size given as text ("2.5mb") only in whole units.
    """
    limit = round(max_upload_mb() * 2**20)
    return {"theme": theme(), "max_file_size": limit, "footer_links": []}


def build_demo() -> gr.Blocks:
    """Builds the page (the model is loaded on the first request, not here).

    Returns:
        The Gradio Blocks app; launch it with ``demo.launch(**launch_options())``.
    """
    # Nothing in this app may call home: no usage analytics, no version check.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    source = model_source()
    limit = max_upload_mb()
    with gr.Blocks(
        title="Hand gesture recognition",
        analytics_enabled=False,
        delete_cache=(OUTPUT_MAX_AGE_S, OUTPUT_MAX_AGE_S),
    ) as demo:
        gr.Markdown(
            "# Hand gesture recognition\n"
            "MediaPipe finds the hand's 21 landmarks in every frame; an LSTM classifies each "
            "window of the last frames. "
            f"Model: {source.describe()}. Files up to {limit:g} MB."
        )
        with gr.Tab("Video"):
            with gr.Row():
                with gr.Column():
                    video_in = gr.Video(
                        label="Clip (upload, or record with the webcam)",
                        sources=["upload", "webcam"],
                        include_audio=True,
                        elem_id="video-input",
                    )
                    video_button = gr.Button("Recognise gestures", variant="primary")
                with gr.Column():
                    # No label on the clip: it would cover the answer drawn in its corner.
                    video_out = gr.Video(
                        label="Annotated clip",
                        show_label=False,
                        interactive=False,
                        height=VIDEO_HEIGHT,
                        elem_id="video-output",
                    )
                    video_label = gr.Label(
                        label="Gestures in the clip (top 3)",
                        num_top_classes=3,
                        elem_id="video-label",
                    )
            video_status = gr.Markdown(elem_id="video-status")
            timeline = gr.ScatterPlot(
                x="time (s)",
                y="confidence",
                color="gesture",
                y_lim=[0, 1],
                title="Predicted gesture and confidence per frame",
                label="Timeline",
                elem_id="timeline",
            )
        with gr.Tab("Photo"):
            with gr.Row():
                with gr.Column():
                    image_in = _read_errors_as_messages(
                        gr.Image(
                            label="Photo",
                            type="filepath",
                            sources=["upload", "webcam", "clipboard"],
                            elem_id="image-input",
                        )
                    )
                    image_button = gr.Button("Recognise gesture", variant="primary")
                with gr.Column():
                    image_out = gr.Image(
                        label="Landmarks",
                        interactive=False,
                        height=VIDEO_HEIGHT,
                        elem_id="image-output",
                    )
                    image_label = gr.Label(
                        label="Gesture", num_top_classes=3, elem_id="image-label"
                    )
            image_status = gr.Markdown(elem_id="image-status")
        with gr.Tab("Your gestures"):
            gr.Markdown(
                "Teach the model your own gestures: name a gesture, record (or upload) a few "
                "seconds of it, and repeat for at least two takes of at least two gestures. "
                "Fine-tuning then adapts the model above to them; try it here and download it."
            )
            session = gr.State(None, delete_callback=end_session)
            with gr.Row():
                with gr.Column():
                    gesture_in = gr.Textbox(
                        label="Gesture name", placeholder="e.g. wave", elem_id="takes-gesture"
                    )
                    take_in = gr.Video(
                        label="Take (record with the webcam, or upload)",
                        sources=["webcam", "upload"],
                        # Without audio Gradio would need ffmpeg to strip it.
                        include_audio=True,
                        elem_id="takes-video",
                    )
                    add_button = gr.Button("Add clip as a take", elem_id="takes-add")
                with gr.Column():
                    takes_out = gr.Dataframe(
                        value=takes_table(None),
                        label="Takes so far",
                        interactive=False,
                        elem_id="takes-table",
                    )
                    clear_button = gr.Button("Clear takes", elem_id="takes-clear")
                    takes_status = gr.Markdown(elem_id="takes-status")
            finetune_button = gr.Button("Fine-tune", variant="primary", elem_id="finetune")
            finetune_status = gr.Markdown(elem_id="finetune-status")
            archive_out = gr.File(
                label="Your model directory (zip)", interactive=False, elem_id="personal-zip"
            )
            gr.Markdown("### Try your model")
            with gr.Row():
                with gr.Column():
                    personal_in = gr.Video(
                        label="Clip (upload, or record with the webcam)",
                        sources=["upload", "webcam"],
                        include_audio=True,
                        elem_id="personal-input",
                    )
                    personal_button = gr.Button("Recognise with your model")
                with gr.Column():
                    personal_out = gr.Video(
                        show_label=False,
                        interactive=False,
                        height=VIDEO_HEIGHT,
                        elem_id="personal-output",
                    )
                    personal_label = gr.Label(
                        label="Gestures in the clip (top 3)",
                        num_top_classes=3,
                        elem_id="personal-label",
                    )
            personal_status = gr.Markdown(elem_id="personal-status")

        video_outputs = [video_out, video_label, timeline, video_status]
        video_button.click(recognize_video, video_in, video_outputs, api_name="recognize_video")
        # Uploading or finishing a recording starts recognition at once.
        for event in (video_in.upload, video_in.stop_recording):
            event(recognize_video, video_in, video_outputs, api_visibility="private")
        image_outputs = [image_out, image_label, image_status]
        image_button.click(recognize_image, image_in, image_outputs, api_name="recognize_image")
        image_in.upload(recognize_image, image_in, image_outputs, api_visibility="private")

        take_outputs = [session, takes_out, takes_status, take_in]
        private = {"api_visibility": "private"}
        # Finishing a recording or an upload adds it at once (the button: after a refusal).
        for event in (add_button.click, take_in.stop_recording, take_in.upload):
            event(add_take, [session, gesture_in, take_in], take_outputs, **private)
        clear_button.click(clear_takes, session, take_outputs[:3], **private)
        finetune_button.click(finetune, session, [session, finetune_status, archive_out], **private)
        personal_outputs = [personal_out, personal_label, personal_status]
        for event in (personal_button.click, personal_in.upload, personal_in.stop_recording):
            event(recognize_personal, [session, personal_in], personal_outputs, **private)
    return demo


def preload() -> None:
    """Loads the model in the background, so that the first request does not wait for it.

    A model that cannot be loaded is reported by the first request, as without preloading.
    """

    def load() -> None:
        with _model_lock, contextlib.suppress(gr.Error):
            get_recognizer()

    threading.Thread(target=load, name="preload-model", daemon=True).start()


#: What ``python app.py --help`` says about the settings, all from the environment.
SETTINGS_HELP = """settings (environment variables):
  HGR_REPO             a Hugging Face Hub model repository, USER/NAME (HGR_REVISION: a
                       branch, tag or commit; HF_TOKEN for a private one)
  HGR_MODEL_DIR        a local model directory, when HGR_REPO is not set (default: models)
  HGR_MAX_UPLOAD_MB    the largest uploaded file, in MiB (default: 50)
  HGR_MAX_FRAMES       the frames of a clip that are processed (default: 900)
  HGR_FINETUNE_EPOCHS  epochs of fine-tuning in the "Your gestures" tab (default: 30)
  GRADIO_SERVER_NAME, GRADIO_SERVER_PORT
                       where Gradio serves the page (default: 127.0.0.1 and 7860)"""


def main(argv: list[str] | None = None) -> int:
    """Checks the settings from the environment, then serves the app until interrupted.

    Args:
        argv: The command line: only ``--help`` (the settings come from the environment).

    Returns:
        The exit status: 0, or 2 (one line on standard error) for a bad setting.
    """
    parser = argparse.ArgumentParser(
        prog="app.py",
        description=__doc__.splitlines()[0] + " Serves it until interrupted.",
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    try:
        max_upload_mb()
        max_frames()
        demo = build_demo()
        options = launch_options()
        preload()
    except InputError as error:
        print(f"app.py: error: {error}", file=sys.stderr)
        return 2
    demo.launch(**options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
