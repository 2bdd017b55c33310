"""Recording your own gestures: takes of one gesture appended to a landmark file.

:func:`record_gestures` is ``hand-gesture record``. It reads a camera (an index) or a video
file with the frame sources of :mod:`~hand_gesture_recognition.realtime`, finds the hand with
the extractor live recognition uses (the default extractor in tracking mode, reset at the start
of every take), and appends each finished take to a landmark file
(:class:`~hand_gesture_recognition.landmark_file.LandmarkTable`) as one recording: a fresh
``sequence`` id, the given ``subject`` and ``gesture``, frames numbered from 0.

How a take is timed:

- **camera**: a countdown of ``countdown`` seconds (default 3), then ``seconds`` of wall-clock
  time; every frame the camera delivers in that time is a frame of the take.
- **video file** (or a folder of images, read as a video): the next ``round(seconds * fps)``
  frames are a take, with the video's own frame rate (30 when it has none). The countdown
  defaults to none; a countdown given for a video skips ``round(countdown * fps)`` frames
  before each take, as the pause before a take on a camera would.

A take is saved only when the hand was found in at least half its frames
(:data:`MIN_HAND_SHARE`; the same bar above which a model window is classified at all). A
refused take, or a source that ends during a take, stops the run: the takes before it stay in
the file, and the command ends with one line and exit status 2. The file is rewritten
atomically after every take, under a lock, so an interrupted run (Ctrl-C, ``q`` in the window)
keeps every finished take and earlier recordings are never lost.

The gesture name ``none`` is the rejection class: hand poses that are not gestures. Here it
is only a label like any other.

The app's "Your gestures" tab adds whole clips as takes (:func:`add_clip_take`): the same
extractor in tracking mode, the same judging (:func:`refusal`) and the same rows and
``recordings`` entries (:func:`take_entry`) as the command's takes.

Clips you already have are cut into consecutive takes the same way (:func:`clip_takes`,
:func:`folder_takes` for a folder of ``<gesture>`` clips, :func:`load_takes` for either a clip
folder or a file ``record`` wrote), and :func:`split_takes` keeps the first takes of each
gesture to fine-tune and holds out the others to test (the notebook's *Your own gestures*).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import REJECTION_LABEL
from .config import PreprocessingConfig
from .errors import InputError
from .extractor import HandResult, LandmarkExtractor
from .landmark_file import LandmarkTable
from .landmarks import make_extractor, results_table
from .realtime import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    FrameSource,
    as_bgr,
    close_windows,
    display_available,
    draw_hand,
    draw_text_rows,
    open_source,
    show,
)
from .storage import OutputLock, check_writable_location, same_file

#: The subject of recordings made without ``--subject``.
DEFAULT_SUBJECT = "user"
#: Takes recorded without ``--count``.
DEFAULT_COUNT = 5
#: Seconds per take without ``--seconds`` (120 frames at 30 fps: enough for ``train``'s time
#: split, which needs three 30-frame windows per recording).
DEFAULT_SECONDS = 4.0
#: Seconds of countdown before each take from a camera without ``--countdown``.
DEFAULT_CAMERA_COUNTDOWN = 3.0
#: A take is saved only if the hand was found in at least this share of its frames.
MIN_HAND_SHARE = 0.5
#: The window's title.
WINDOW = "hand-gesture record"

_WHITE, _GREEN, _RED, _YELLOW = (255, 255, 255), (0, 255, 0), (0, 0, 255), (0, 255, 255)


def check_label(value: str, option: str) -> str:
    r"""Checks that a gesture or subject name can be a label of a landmark file.

    A label is one non-empty line of printable characters without leading or trailing
    whitespace, without a path separator (``/``, ``\\``; the sequence id joins labels with
    ``/``) and other than ``.`` or ``..``.

    Args:
        value: The name.
        option: The option that gave it (``--gesture``), for the message.

    Returns:
        The name.

    Raises:
        InputError: Naming the option and what was expected.
    """
    expected = "a name such as 01_palm (printable, no path separator, not . or ..)"
    if not value.strip():
        raise InputError(f"{option} {value!r}: is empty; expected {expected}")
    if value != value.strip():
        raise InputError(f"{option} {value!r}: starts or ends with whitespace; expected {expected}")
    if any(sep in value for sep in ("/", "\\", os.sep)) or value in (".", ".."):
        raise InputError(f"{option} {value!r}: looks like a path; expected {expected}")
    if not value.isprintable():
        raise InputError(f"{option} {value!r}: holds control characters; expected {expected}")
    return value


@dataclass(frozen=True)
class RecordSettings:
    """What ``hand-gesture record`` records, and how.

    Attributes:
        gesture: The label of every take (``none`` for the rejection class).
        out: The landmark file the takes are appended to (created if missing).
        source: A camera index (digits) or a video file (or a folder of images).
        subject: The subject of every take.
        count: Takes to record.
        seconds: Length of a take (wall-clock for a camera, video time for a video).
        countdown: Seconds before each take; None for the default (3 for a camera, 0 for a
            video).
        display: Show the camera's picture with the prompt, the countdown and the landmarks.
        min_hand_share: Share of a take's frames that must show the hand for it to be saved.
        extractor: The landmark extractor (run in tracking mode).
        min_confidence: Confidence under which a frame has no hand.

    Raises:
        InputError: For a bad label, count, length, countdown or output file name.
    """

    gesture: str
    out: Path
    source: str = "0"
    subject: str = DEFAULT_SUBJECT
    count: int = DEFAULT_COUNT
    seconds: float = DEFAULT_SECONDS
    countdown: float | None = None
    display: bool = True
    min_hand_share: float = MIN_HAND_SHARE
    extractor: str = PreprocessingConfig.extractor
    min_confidence: float = PreprocessingConfig.min_detection_confidence

    def __post_init__(self) -> None:
        check_label(self.gesture, "--gesture")
        check_label(self.subject, "--subject")
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "source", str(self.source))
        if self.count < 1:
            raise InputError(f"--count must be at least 1, got {self.count}")
        if not (np.isfinite(self.seconds) and self.seconds > 0):
            raise InputError(f"--seconds must be a number above 0, got {self.seconds}")
        if self.countdown is not None and not (np.isfinite(self.countdown) and self.countdown >= 0):
            raise InputError(f"--countdown must be a number of at least 0, got {self.countdown}")
        if not 0.0 <= self.min_hand_share <= 1.0:
            raise InputError(f"min_hand_share must be in [0, 1], got {self.min_hand_share}")
        if self.out.suffix != ".npz":
            raise InputError(f"--out {self.out}: the landmark file must end in .npz")

    @property
    def camera(self) -> bool:
        """Whether the source is a camera index."""
        return self.source.strip().isdigit()


@dataclass(frozen=True)
class Take:
    """One recorded take, before it is judged.

    Attributes:
        results: The extractor's result for each frame, in order.
        first_frame: Position of the take's first frame in the source (frames read before).
        seconds: Time the take lasted (wall-clock for a camera, frames / fps for a video).
    """

    results: list[HandResult]
    first_frame: int
    seconds: float

    @property
    def frames(self) -> int:
        """Frames in the take."""
        return len(self.results)

    @property
    def detected(self) -> int:
        """Frames in which the hand was found."""
        return sum(r.detected for r in self.results)


@dataclass
class RecordSummary:
    """What a run of ``hand-gesture record`` did.

    Attributes:
        out: The landmark file.
        saved: The sequence ids of the takes saved by this run, in order.
        stopped: Why the run ended before its last take (empty when it recorded them all).
        sequences: Recordings in the file at the end.
        frames: Frames in the file at the end.
    """

    out: Path
    saved: list[str] = field(default_factory=list)
    stopped: str = ""
    sequences: int = 0
    frames: int = 0


def read_existing(out: Path) -> LandmarkTable | None:
    """The landmark file the takes are appended to; None when it does not exist yet.

    Raises:
        InputError: If ``out`` is a folder, or a file that is not a landmark file (it is left
            as it is).
    """
    if out.is_dir():
        raise InputError(f"--out {out}: is a directory, expected a .npz landmark file")
    if not out.exists():
        check_writable_location(out, "--out")
        return None
    try:
        table = LandmarkTable.load(out)
    except InputError as error:
        reason = str(error).removeprefix(f"{out}: ")
        raise InputError(
            f"--out {out}: exists and is not a landmark file ({reason}); it was left as it is, "
            "choose another file"
        ) from None
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: cannot write in {out.parent} (permission denied)")
    recordings = table.meta.get("recordings", [])
    if not isinstance(recordings, list):
        raise InputError(f"--out {out}: meta field 'recordings' must be a JSON list")
    return table


def new_sequence_id(subject: str, gesture: str, taken: set[str]) -> str:
    """A sequence id not in ``taken``: ``<subject>/<gesture>/<UTC time, to the µs>-<random>``.

    The time comes first so that a subject's takes of one gesture sort in recording order.
    """
    while True:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%f")
        sequence = f"{subject}/{gesture}/{stamp}-{uuid.uuid4().hex[:6]}"
        if sequence not in taken:
            return sequence


def take_table(take: Take, sequence: str, subject: str, gesture: str) -> LandmarkTable:
    """One take as rows of a landmark file (``path`` empty: a take has no image files)."""
    return results_table(
        take.results,
        subject=subject,
        gesture=gesture,
        sequence=sequence,
        frames=range(take.frames),
        paths=[""] * take.frames,
    )


def append_take(
    table: LandmarkTable | None, take: LandmarkTable, record: dict[str, Any], settings: dict
) -> LandmarkTable:
    """The file's table with one more take; its metadata lists the take under ``recordings``.

    A new file's ``meta.extractor`` is the recording extractor's settings; an existing file
    keeps its own, and loses the extraction ``key`` that let ``extract`` reuse it (it no longer
    holds only that extraction's frames).
    """
    if table is None:
        meta: dict[str, Any] = {"extractor": settings, "recordings": []}
        parts = [take]
    else:
        meta = {k: v for k, v in table.meta.items() if k != "key"}
        meta["recordings"] = list(meta.get("recordings", []))
        parts = [table, take]
    meta["recordings"].append(record)
    return LandmarkTable.concatenate(parts, meta)


def refusal(take: Take, min_share: float = MIN_HAND_SHARE, min_frames: int = 1) -> str:
    """Why a take is refused: no hand, too little hand, or too short ("" when it can be saved).

    Args:
        take: The take.
        min_share: Share of its frames that must show the hand.
        min_frames: Frames it must have at least.

    Returns:
        The reason, to follow the take's name in a message; empty for a good take.
    """
    if take.detected == 0:
        return f"no hand in any of its {take.frames} frames"
    if take.detected < min_share * take.frames:
        return (
            f"hand found in only {take.detected} of its {take.frames} frames (at least "
            f"{min_share:.0%} needed)"
        )
    if take.frames < min_frames:
        return f"only {take.frames} frames, at least {min_frames} needed (one model window)"
    return ""


def _judge(take: Take, number: int, count: int, min_share: float) -> str:
    """Why a take is refused ("" when it can be saved)."""
    reason = refusal(take, min_share)
    return f"take {number} of {count}: {reason}; not saved" if reason else ""


def take_entry(
    take: Take, subject: str, gesture: str, source: str, taken: set[str], extraction: dict
) -> tuple[LandmarkTable, dict[str, Any]]:
    """A good take as rows of a landmark file and its entry under ``meta.recordings``.

    Args:
        take: The take.
        subject: Its subject.
        gesture: Its gesture.
        source: Where it came from (a camera or a file), for the entry.
        taken: Sequence ids already in the file; the take gets a new one.
        extraction: The extractor's settings.

    Returns:
        The take's rows (see :func:`take_table`) and its entry (sequence id, subject,
        gesture, source, frames, frames with a hand, length, time, extractor).
    """
    sequence = new_sequence_id(subject, gesture, taken)
    record = {
        "sequence": sequence,
        "subject": subject,
        "gesture": gesture,
        "source": source,
        "first_frame": take.first_frame,
        "frames": take.frames,
        "detected": take.detected,
        "seconds": round(take.seconds, 3),
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "extractor": extraction,
    }
    return take_table(take, sequence, subject, gesture), record


#: The two phases of a take on screen.
COUNTDOWN, RECORDING = "countdown", "recording"


def screen_rows(
    settings: RecordSettings, number: int, phase: str, remaining: float, hand_found: bool
) -> list[tuple[str, tuple[int, int, int]]]:
    """The lines of text shown over the picture, each with its BGR colour.

    Args:
        settings: What is recorded (the gesture, the number of takes).
        number: The take (from 1).
        phase: :data:`COUNTDOWN` or :data:`RECORDING`.
        remaining: Seconds left in the phase.
        hand_found: Whether the hand was found in this frame.

    Returns:
        The prompt (gesture, take k of N), the phase with its time, and the hand's status.
    """
    prompt = (f"{settings.gesture}: take {number} of {settings.count}", _WHITE)
    if phase == COUNTDOWN:
        status = (f"get ready: {max(1, int(np.ceil(remaining)))}", _YELLOW)
    else:
        status = (f"RECORDING  {max(0.0, remaining):.1f} s left", _RED)
    hand = ("hand: found", _GREEN) if hand_found else ("NO HAND VISIBLE: show your hand", _RED)
    return [prompt, status, hand]


class _Recorder:
    """The frame loop: countdowns and takes over one opened source."""

    def __init__(
        self,
        settings: RecordSettings,
        frames: FrameSource,
        extractor: LandmarkExtractor,
        display: bool,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.camera = bool(getattr(frames, "camera", False))
        self.fps = float(frames.fps)
        self.frames = iter(frames)
        self.extractor = extractor
        self.display = display
        self.clock = clock
        self.position = 0  # frames read so far
        self.quit = False

    def _next(self) -> np.ndarray | None:
        try:
            frame, _ = next(self.frames)
        except StopIteration:
            return None
        self.position += 1
        return frame

    def _show(self, frame: np.ndarray, rows: list, landmarks: np.ndarray | None) -> None:
        image = as_bgr(frame)
        if landmarks is not None:
            draw_hand(image, landmarks)
        draw_text_rows(image, rows)
        if not show(WINDOW, image):
            self.quit = True

    def countdown(self, number: int, seconds: float) -> bool:
        """Waits ``seconds`` before a take; its frames are not recorded.

        Returns:
            False if the source ended first.
        """
        if seconds <= 0:
            return True
        skip = round(seconds * self.fps)  # a video's countdown, in frames
        end = self.clock() + seconds  # a camera's
        done = 0
        if self.display:
            self.extractor.reset()
        while not self.quit:
            remaining = (end - self.clock()) if self.camera else (skip - done) / self.fps
            if remaining <= 0:
                break
            frame = self._next()
            if frame is None:
                return False
            done += 1
            if self.display:
                # The preview finds the hand so that the user sees whether it is in view.
                result = self.extractor.process(frame)
                rows = screen_rows(self.settings, number, COUNTDOWN, remaining, result.detected)
                self._show(frame, rows, result.landmarks)
        return True

    def take(self, number: int) -> Take | None:
        """Records one take; None if the source ended first (or the user quit)."""
        self.extractor.reset()
        results: list[HandResult] = []
        first = self.position
        started = self.clock()
        planned = max(1, round(self.settings.seconds * self.fps))
        while not self.quit:
            if self.camera:
                if results and self.clock() - started >= self.settings.seconds:
                    break
            elif len(results) >= planned:
                break
            frame = self._next()
            if frame is None:
                return None
            result = self.extractor.process(frame)
            results.append(result)
            if self.display:
                elapsed = (self.clock() - started) if self.camera else len(results) / self.fps
                left = self.settings.seconds - elapsed
                rows = screen_rows(self.settings, number, RECORDING, left, result.detected)
                self._show(frame, rows, result.landmarks)
        if self.quit:
            return None
        seconds = (self.clock() - started) if self.camera else len(results) / self.fps
        return Take(results, first, seconds)


def record_gestures(
    settings: RecordSettings,
    *,
    log: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RecordSummary:
    """Records ``settings.count`` takes of one gesture and appends each to ``settings.out``.

    The output is checked before the source is opened, and the source before the extractor's
    models are loaded. Each take is written (atomically, the whole file) as soon as it is
    judged good, so Ctrl-C or ``q`` loses only the take in progress.

    Args:
        settings: What to record.
        log: Receives one line per take and notes (standard error by default).
        clock: Seconds, for a camera's countdown and takes (a test can pass its own).

    Returns:
        What was saved, and why the run stopped early (``q``, Esc or closing the window) if it did.

    Raises:
        InputError: For a bad output file or source, a refused take, or a source that ends
            before the last take (the takes saved before it stay in the file).
        KeyboardInterrupt: On Ctrl-C, after the finished takes were saved.
    """
    log = log or _log
    out = settings.out
    if not settings.camera and Path(settings.source).exists() and same_file(settings.source, out):
        raise InputError(f"--out {out}: is the --source; choose another file")
    read_existing(out)  # fails early, before a camera is opened
    try:
        frames = open_source(settings.source)
    except InputError as error:
        raise InputError(f"--source: {error}") from None
    with frames, OutputLock(out, "--out"), contextlib.ExitStack() as stack:
        table = read_existing(out)  # again: another run may have written it meanwhile
        display = settings.display
        if display and not display_available():
            log("no display found (DISPLAY is not set): recording without a window")
            display = False
        if display:
            stack.callback(close_windows)
        extractor = make_extractor(
            settings.extractor, tracking=True, min_confidence=settings.min_confidence
        )
        stack.callback(extractor.close)
        return _record(settings, table, frames, extractor, display, clock, log)


def _record(
    settings: RecordSettings,
    table: LandmarkTable | None,
    frames: FrameSource,
    extractor: LandmarkExtractor,
    display: bool,
    clock: Callable[[], float],
    log: Callable[[str], None],
) -> RecordSummary:
    recorder = _Recorder(settings, frames, extractor, display, clock)
    camera = recorder.camera
    countdown = settings.countdown
    if countdown is None:
        countdown = DEFAULT_CAMERA_COUNTDOWN if camera else 0.0
    source = f"camera {settings.source.strip()}" if camera else settings.source
    window = PreprocessingConfig().sequence_length
    planned = round(settings.seconds * recorder.fps)
    if planned < window:
        log(
            f"note: a take of {settings.seconds:g} s is about {planned} frames at "
            f"{recorder.fps:g} fps, shorter than a model window ({window} frames)"
        )
    summary = RecordSummary(out=settings.out)
    taken = set() if table is None else set(table.sequence.tolist())
    extraction = extractor.settings()
    if settings.gesture == REJECTION_LABEL:
        log(f"{REJECTION_LABEL!r}: hand poses that are not gestures (the rejection class)")
    for number in range(1, settings.count + 1):
        # Without a window, a person in front of a camera follows the takes here.
        talk = camera and not display
        if talk and countdown > 0:
            log(f"take {number} of {settings.count}: starts in {countdown:g} s")
        ended = not recorder.countdown(number, countdown)
        if talk and not ended:
            log(f"take {number} of {settings.count}: recording for {settings.seconds:g} s")
        take = None if ended or recorder.quit else recorder.take(number)
        if recorder.quit:
            summary.stopped = f"stopped from the window after {len(summary.saved)} take(s)"
            log(summary.stopped)
            break
        if take is None:
            need = f"{max(1, planned)} frames"
            if countdown > 0:
                need += f" after the {round(countdown * recorder.fps)} of its countdown"
            raise InputError(
                f"--source {source}: ended during take {number} of {settings.count} (a take "
                f"needs {need}); {_kept(summary, settings.out)}"
            )
        refusal = _judge(take, number, settings.count, settings.min_hand_share)
        if refusal:
            raise InputError(f"--source {source}: {refusal}; {_kept(summary, settings.out)}")
        rows, record = take_entry(
            take, settings.subject, settings.gesture, source, taken, extraction
        )
        sequence = record["sequence"]
        updated = append_take(table, rows, record, extraction)
        updated.save(settings.out)
        table = updated
        taken.add(sequence)
        summary.saved.append(sequence)
        log(
            f"take {number} of {settings.count}: saved {take.frames} frames, hand in "
            f"{take.detected} ({take.detected / take.frames:.0%}), as {sequence}"
        )
    if table is not None:
        summary.sequences = len({str(s) for s in table.sequence.tolist()})
        summary.frames = len(table)
    return summary


# ---------------------------------------------------------------------------------------------
# Takes from whole clips (the app's "Your gestures" tab).

#: Takes of each gesture that fine-tuning needs: its ``none`` split holds one of each gesture
#: out for validation and trains on the others.
MIN_TAKES = 2


def clip_take(
    clip: str | os.PathLike,
    extractor: LandmarkExtractor,
    *,
    max_frames: int | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Take:
    """Reads a whole video clip as one take, the extractor starting afresh (tracking mode).

    Args:
        clip: A video file (or a folder of images).
        extractor: The extractor live recognition uses.
        max_frames: Frames read at most (None: all).
        transform: Applied to each frame first (the resize live recognition applies).

    Returns:
        The take (its ``seconds`` are frames / the clip's frame rate).

    Raises:
        InputError: If the clip cannot be read as a video.
    """
    name = Path(clip).name
    try:
        frames = open_source(clip)
    except InputError:
        raise InputError(f"{name} could not be read as a video") from None
    results: list[HandResult] = []
    extractor.reset()
    try:
        with frames:
            for frame, _ in itertools.islice(frames, max_frames):
                results.append(extractor.process(transform(frame) if transform else frame))
    finally:
        extractor.reset()
    return Take(results, 0, len(results) / float(frames.fps))


def add_clip_take(
    table: LandmarkTable | None,
    clip: str | os.PathLike,
    gesture: str,
    extractor: LandmarkExtractor,
    *,
    subject: str = DEFAULT_SUBJECT,
    max_frames: int | None = None,
    min_frames: int = 1,
    min_hand_share: float = MIN_HAND_SHARE,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> LandmarkTable:
    """Adds a whole clip as one take of ``gesture``, judged as ``hand-gesture record`` judges.

    Args:
        table: The takes so far (None for none).
        clip: A video file.
        gesture: The take's label (checked with :func:`check_label`).
        extractor: The extractor live recognition uses (run in tracking mode).
        subject: The take's subject.
        max_frames: Frames of the clip read at most (None: all).
        min_frames: Frames the take needs (a model window: shorter takes train nothing).
        min_hand_share: Share of its frames that must show the hand.
        transform: Applied to each frame first.

    Returns:
        A new table: ``table``'s takes and this one (a new recording with a fresh sequence id,
        listed under ``meta.recordings``).

    Raises:
        InputError: For a bad gesture name, an unreadable clip, or a refused take (too short,
            no hand, too little hand), with the reason.
    """
    check_label(gesture, "gesture")
    check_label(subject, "subject")
    take = clip_take(clip, extractor, max_frames=max_frames, transform=transform)
    reason = refusal(take, min_hand_share, min_frames)
    if reason:
        raise InputError(f"{Path(clip).name}: {reason}; not added")
    taken = set() if table is None else set(table.sequence.tolist())
    extraction = extractor.settings()
    rows, record = take_entry(take, subject, gesture, Path(clip).name, taken, extraction)
    return append_take(table, rows, record, extraction)


def takes_per_gesture(table: LandmarkTable | None) -> dict[str, tuple[int, int, int]]:
    """The takes of each gesture: how many, their frames, and their frames with a hand.

    Args:
        table: The takes (None for none).

    Returns:
        ``{gesture: (takes, frames, frames with a hand)}`` in gesture order.
    """
    if table is None:
        return {}
    counts = {}
    for gesture in sorted(set(table.gesture.tolist())):
        rows = table.gesture == gesture
        counts[gesture] = (
            len(set(table.sequence[rows].tolist())),
            int(rows.sum()),
            int(table.detected[rows].sum()),
        )
    return counts


def check_takes(table: LandmarkTable | None, min_takes: int = MIN_TAKES) -> None:
    """Refuses takes that fine-tuning cannot learn from: two gestures, ``min_takes`` of each.

    Raises:
        InputError: Saying what is needed and what there is.
    """
    counts = takes_per_gesture(table)
    have = ", ".join(f"{g}: {n[0]}" for g, n in counts.items()) or "no takes"
    short = [g for g, n in counts.items() if n[0] < min_takes]
    if len(counts) < 2 or short:
        raise InputError(
            f"fine-tuning needs at least 2 gestures with at least {min_takes} takes each "
            f"(one of each is held out to check the training); you have {have}"
        )


def _kept(summary: RecordSummary, out: Path) -> str:
    if not summary.saved:
        return f"nothing was added to {out}"
    return f"the {len(summary.saved)} take(s) before it were saved to {out}"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Takes cut from clips you already have, and the takes kept for fine-tuning.


def clip_takes(
    clip: str | os.PathLike,
    gesture: str,
    frames: int,
    extractor: LandmarkExtractor,
    *,
    table: LandmarkTable | None = None,
    subject: str = DEFAULT_SUBJECT,
    skip: int = 0,
    count: int | None = None,
    min_hand_share: float = MIN_HAND_SHARE,
) -> LandmarkTable:
    """Cuts a clip into consecutive takes of ``frames`` frames and adds each to a table.

    Each take is what ``hand-gesture record --source CLIP --no-display`` records from a video:
    the extractor (tracking mode) starts afresh at the take's first frame, the take is judged
    by :func:`refusal` and added as one recording with a fresh sequence id and an entry under
    ``meta.recordings`` (:func:`take_entry`). The frames after the last whole take are left
    out.

    Args:
        clip: A video file or a folder of consecutive frames (read in name order).
        gesture: The takes' label (checked with :func:`check_label`).
        frames: Frames per take.
        extractor: The extractor live recognition uses (run in tracking mode).
        table: The takes so far (None for none); it is not changed.
        subject: The takes' subject.
        skip: Frames left out at the start of the clip (before the hand is in view).
        count: Takes cut at most (None: as many as the clip holds).
        min_hand_share: Share of a take's frames that must show the hand.

    Returns:
        A new table: ``table``'s takes and the clip's, in the clip's order.

    Raises:
        InputError: For a bad label, frame count or clip, a clip too short for one take, or
            a refused take (naming the clip, the take and the reason).
    """
    check_label(gesture, "gesture")
    check_label(subject, "subject")
    if frames < 1 or skip < 0 or (count is not None and count < 1):
        raise InputError(
            f"takes need frames >= 1, skip >= 0 and count >= 1 (or None); got frames {frames}, "
            f"skip {skip}, count {count}"
        )
    name = Path(clip).name
    try:
        source = open_source(clip)
    except InputError:
        raise InputError(f"{clip}: could not be read as a video or a folder of frames") from None
    taken = set() if table is None else set(table.sequence.tolist())
    extraction = extractor.settings()
    fps = float(source.fps)
    added = 0
    with source:
        read = itertools.islice(source, skip, None)
        while count is None or added < count:
            first = skip + added * frames
            chunk = [frame for frame, _ in itertools.islice(read, frames)]
            if len(chunk) < frames:
                break
            extractor.reset()
            take = Take([extractor.process(frame) for frame in chunk], first, frames / fps)
            reason = refusal(take, min_hand_share)
            if reason:
                raise InputError(
                    f"{clip}: take {added + 1} (frames {first}-{first + frames - 1}): "
                    f"{reason}; not added"
                )
            rows, record = take_entry(take, subject, gesture, name, taken, extraction)
            table = append_take(table, rows, record, extraction)
            taken.add(record["sequence"])
            added += 1
    extractor.reset()
    if added == 0:
        raise InputError(f"{clip}: too short for one take of {frames} frames after skipping {skip}")
    return table


def folder_takes(
    folder: str | os.PathLike,
    frames: int,
    *,
    gestures: list[str] | tuple[str, ...] | None = None,
    subject: str = DEFAULT_SUBJECT,
    skip: int = 0,
    count: int | None = None,
    extractor: str = PreprocessingConfig.extractor,
    min_confidence: float = PreprocessingConfig.min_detection_confidence,
) -> LandmarkTable:
    """Cuts a folder of gesture clips into takes (:func:`clip_takes`), one gesture per clip.

    A clip is a sub-folder of consecutive frames named after its gesture
    (``stop/0.jpg``, ``stop/1.jpg``, ...) or a video file named after it (``stop.mp4``).

    Args:
        folder: The folder of clips.
        frames: Frames per take.
        gestures: The gestures to cut, in this order (None: every clip, by name).
        subject: The takes' subject.
        skip: Frames left out at the start of each clip.
        count: Takes cut from each clip at most (None: as many as it holds).
        extractor: The landmark extractor (run in tracking mode, as ``record`` runs it).
        min_confidence: Confidence under which a frame has no hand.

    Returns:
        The takes of every clip, gesture after gesture, with ``meta.recordings``.

    Raises:
        InputError: If the folder holds no clip, a gesture asked for has none, or a clip
            cannot be cut (see :func:`clip_takes`).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder of gesture clips")
    clips = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in entry.iterdir()):
            clips[entry.name] = entry
        elif entry.is_file() and entry.suffix.lower() in VIDEO_SUFFIXES:
            clips[entry.stem] = entry
    if not clips:
        raise InputError(
            f"{root}: no clips (a <gesture>/ folder of frames or a <gesture> video file)"
        )
    chosen = list(gestures) if gestures is not None else sorted(clips)
    missing = [g for g in chosen if g not in clips]
    if missing:
        raise InputError(
            f"{root}: no clip of {', '.join(missing)}; it has {', '.join(sorted(clips))}"
        )
    landmark_extractor = make_extractor(extractor, tracking=True, min_confidence=min_confidence)
    table = None
    try:
        for gesture in chosen:
            table = clip_takes(
                clips[gesture],
                gesture,
                frames,
                landmark_extractor,
                table=table,
                subject=subject,
                skip=skip,
                count=count,
            )
    finally:
        landmark_extractor.close()
    return table


def load_takes(
    source: str | os.PathLike,
    frames: int,
    *,
    gestures: list[str] | tuple[str, ...] | None = None,
    skip: int = 0,
    count: int | None = None,
) -> LandmarkTable:
    """Your takes: a landmark file ``hand-gesture record`` wrote, or a folder of clips.

    Args:
        source: A ``.npz`` landmark file (read as it is), or a folder of gesture clips, cut
            into takes by :func:`folder_takes`.
        frames: Frames per take (clips only).
        gestures: Keep only these gestures (None: all).
        skip: Frames left out at the start of each clip (clips only).
        count: Takes cut from each clip at most (clips only).

    Returns:
        The takes.

    Raises:
        InputError: If the file is not a landmark file, a gesture asked for has no take, or
            the clips cannot be cut.
    """
    path = Path(source)
    if path.is_dir():
        return folder_takes(path, frames, gestures=gestures, skip=skip, count=count)
    if not path.is_file():
        raise InputError(
            f"{path}: not found; expected a landmark file that 'hand-gesture record' wrote "
            "(.npz) or a folder of gesture clips"
        )
    table = LandmarkTable.load(path)
    if gestures is None:
        return table
    missing = [g for g in gestures if g not in table.gestures]
    if missing:
        raise InputError(
            f"{path}: no takes of {', '.join(missing)}; it has {', '.join(table.gestures)}"
        )
    return keep_sequences(table, np.isin(table.gesture, list(gestures)))


def take_order(table: LandmarkTable) -> dict[str, list[str]]:
    """Each gesture's takes (sequence ids) in the order their rows come in the table.

    That is the order ``record`` appended them (and :func:`clip_takes` cut them).

    Args:
        table: The takes.

    Returns:
        ``{gesture: [sequence id, ...]}``, gestures sorted.
    """
    _, first = np.unique(table.sequence.astype(str), return_index=True)
    order: dict[str, list[str]] = {g: [] for g in table.gestures}
    for index in np.sort(first):
        order[str(table.gesture[index])].append(str(table.sequence[index]))
    return order


def keep_sequences(table: LandmarkTable, rows: np.ndarray) -> LandmarkTable:
    """The rows ``rows`` (a mask) of a table; ``meta.recordings`` keeps their entries only."""
    part = table.subset(rows)
    kept = set(part.sequence.tolist())
    recordings = part.meta.get("recordings")
    if isinstance(recordings, list):
        part.meta["recordings"] = [r for r in recordings if r.get("sequence") in kept]
    return part


def cut_takes(
    table: LandmarkTable,
    starts: list[int] | tuple[int, ...],
    gestures: list[str] | tuple[str, ...] | None = None,
    subject: str | None = None,
) -> LandmarkTable:
    """Cuts recordings already extracted into takes that begin at the frames ``starts``.

    Frames before the first start are left out. A take's sequence id is its recording's plus
    ``#take<k>``, as a user's short takes of one gesture would be.

    Args:
        table: The recordings' landmarks.
        starts: The first frame (``frame`` value) of each take, ascending.
        gestures: Cut only these gestures' recordings (None: all).
        subject: Give the takes this subject, and prefix their ids with it (None: keep).

    Returns:
        The takes.
    """
    rows = (
        np.arange(len(table))
        if gestures is None
        else np.flatnonzero(np.isin(table.gesture, list(gestures)))
    )
    part = table.subset(rows)
    take = np.searchsorted(np.asarray(starts), part.frame, side="right") - 1
    part = part.subset(take >= 0)
    take = take[take >= 0]
    ids = np.char.add(part.sequence.astype(str), np.char.add("#take", take.astype(str)))
    if subject is not None:
        part.subject = np.full(len(part), subject)
        ids = np.char.add(f"{subject}:", ids)
    part.sequence = ids
    return part


def split_takes(
    table: LandmarkTable, keep: int = 3, first: int = 0
) -> tuple[LandmarkTable, LandmarkTable]:
    """Splits each gesture's takes into those that fine-tune and those held out to test.

    Each gesture's takes are taken in recording order (:func:`take_order`); ``keep`` of
    them, from position ``first`` on, fine-tune and the others are held out. Positions wrap
    around, so ``first`` rotates the held-out takes (the folds of a cross-validation).

    Args:
        table: The takes.
        keep: Takes of each gesture that fine-tune (at least :data:`MIN_TAKES`: fine-tuning
            holds one of them out to validate).
        first: Position of the first fine-tuning take.

    Returns:
        The fine-tuning takes and the held-out takes.

    Raises:
        InputError: If a gesture has no more than ``keep`` takes (none would be held out),
            ``keep`` is under :data:`MIN_TAKES`, or there are fewer than two gestures.
    """
    if keep < MIN_TAKES:
        raise InputError(f"keep {keep}: fine-tuning needs at least {MIN_TAKES} takes of each")
    order = take_order(table)
    short = {g: len(ids) for g, ids in order.items() if len(ids) <= keep}
    if len(order) < 2 or short:
        have = ", ".join(f"{g}: {len(ids)}" for g, ids in order.items()) or "no takes"
        raise InputError(
            f"keeping {keep} takes of each gesture to fine-tune and testing on the rest needs "
            f"at least 2 gestures with {keep + 1} takes or more; you have {have}"
        )
    tuning = {ids[(first + k) % len(ids)] for ids in order.values() for k in range(keep)}
    rows = np.isin(table.sequence.astype(str), sorted(tuning))
    return keep_sequences(table, rows), keep_sequences(table, ~rows)


def takes_overview(parts: Mapping[str, LandmarkTable]) -> dict[str, dict[str, int]]:
    """The takes and frames of each gesture in each part, as the columns of a table.

    Args:
        parts: Tables of takes by name (e.g. ``{"fine-tuning": ..., "held out": ...}``).

    Returns:
        ``{"<name> takes": {gesture: takes}, "<name> frames": {gesture: frames}}`` for each
        part in order (a gesture a part lacks counts 0), gestures sorted.
    """
    gestures = sorted({g for table in parts.values() for g in table.gestures})
    columns: dict[str, dict[str, int]] = {}
    for name, table in parts.items():
        counts = takes_per_gesture(table)
        columns[f"{name} takes"] = {g: counts.get(g, (0, 0, 0))[0] for g in gestures}
        columns[f"{name} frames"] = {g: counts.get(g, (0, 0, 0))[1] for g in gestures}
    return columns
