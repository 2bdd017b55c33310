"""Hand landmark extraction: one small interface, MediaPipe Hands behind it, and a dataset runner.

Every extractor turns one image into a :class:`HandResult`: 21 landmarks ``(x, y, z)`` in
MediaPipe's convention (``x`` and ``y`` normalised by the width and height of the
aspect-corrected image, ``z`` roughly in units of the width), a confidence, and the corrected
image's height-to-width ratio, which features need to undo the normalisation.

:func:`extract_landmarks` runs an extractor over a LeapGestRecog-shaped tree in worker processes
and writes one ``.npz`` file (see :class:`LandmarkTable` for its arrays).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .config import EXTRACTORS
from .dataset import Recording, find_recordings
from .errors import InputError
from .storage import atomic_output, check_writable_location, file_fingerprint

NUM_LANDMARKS = 21

# Whether this process has started a model runtime. MediaPipe graphs run their own threads,
# and forking a process that holds them can deadlock the child, so extraction forks its
# workers only from a process that has not started one (and spawns them otherwise).
_process_state = {"runtime_started": False}


def mark_runtime_started() -> None:
    """Records that this process now runs a model runtime with threads of its own."""
    _process_state["runtime_started"] = True


#: Leap Motion frames are 640x240 with pixels twice as tall as wide.
LEAP_FRAME_SHAPE = (240, 640)
LEAP_PIXEL_ASPECT = 2.0


@dataclass(frozen=True)
class HandResult:
    """What an extractor found in one image.

    Attributes:
        landmarks: ``(21, 3)`` float32 array, or None when no hand was found.
        score: The extractor's confidence that a hand is there (0 when none was found).
        aspect: Height / width of the aspect-corrected image the landmarks refer to.
    """

    landmarks: np.ndarray | None
    score: float = 0.0
    aspect: float = 1.0

    @property
    def detected(self) -> bool:
        """Whether a hand was found."""
        return self.landmarks is not None


def pixel_aspect_for(shape: tuple[int, ...]) -> float:
    """Returns the pixel aspect (height / width of one pixel) assumed for an image shape.

    Leap Motion frames (640x240) have pixels twice as tall as wide; everything else is square.
    """
    return LEAP_PIXEL_ASPECT if tuple(shape[:2]) == LEAP_FRAME_SHAPE else 1.0


def correct_aspect(image: np.ndarray, pixel_aspect: float | None = None) -> np.ndarray:
    """Stretches an image vertically so that its pixels are square.

    Args:
        image: The frame, ``(H, W)`` or ``(H, W, C)``.
        pixel_aspect: Pixel height / width; None picks :func:`pixel_aspect_for`.

    Returns:
        The frame itself when its pixels are square, else a resized copy.
    """
    import cv2

    aspect = pixel_aspect_for(image.shape) if pixel_aspect is None else pixel_aspect
    if abs(aspect - 1.0) < 1e-6:
        return image
    height, width = image.shape[:2]
    return cv2.resize(image, (width, round(height * aspect)), interpolation=cv2.INTER_LINEAR)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Returns a contiguous RGB uint8 copy of a BGR or grayscale frame."""
    import cv2

    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def is_grayscale(image: np.ndarray) -> bool:
    """Whether a frame is single-channel, or three equal channels (an infrared frame as BGR)."""
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    sample = image[::8, ::8, :3]
    return bool(np.array_equal(sample[..., 0], sample[..., 1])) and bool(
        np.array_equal(sample[..., 1], sample[..., 2])
    )


class LandmarkExtractor(ABC):
    """Finds one hand's 21 landmarks in a frame.

    Extractors are context managers. In tracking mode they may use the previous frame's result
    to find the hand in the next; call :meth:`reset` between unrelated sequences.

    Args:
        tracking: Use the previous frame's landmarks to propose where the hand is now.
        min_confidence: Confidence under which a frame counts as having no hand.
        pixel_aspect: Pixel height / width of the frames; None assumes Leap Motion frames
            (640x240) have pixels twice as tall as wide and all others square.
    """

    name: ClassVar[str] = ""

    def __init__(
        self,
        *,
        tracking: bool = False,
        min_confidence: float = 0.5,
        pixel_aspect: float | None = None,
    ) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise InputError(f"min_confidence must be in [0, 1], got {min_confidence}")
        self.tracking = tracking
        self.min_confidence = float(min_confidence)
        self.pixel_aspect = pixel_aspect

    @abstractmethod
    def process(self, image: np.ndarray) -> HandResult:
        """Finds the hand in one frame.

        Args:
            image: A BGR (OpenCV order) or grayscale uint8 frame.

        Returns:
            The landmarks, or a result with ``landmarks=None`` when no hand was found.
        """

    def process_photo(self, image: np.ndarray) -> HandResult:
        """Finds the hand in one photo on its own, with any fallbacks for photos.

        The same as :meth:`process` unless the extractor has fallbacks that live video
        skips (see :class:`AutoExtractor`). Call :meth:`reset` before and after.
        """
        return self.process(image)

    def reset(self) -> None:
        """Forgets the previous frame (start of a new sequence)."""

    def close(self) -> None:
        """Releases the models."""

    def settings(self) -> dict[str, Any]:
        """The settings that determine this extractor's output, for caches and configs."""
        return {
            "extractor": self.name,
            "tracking": self.tracking,
            "min_confidence": self.min_confidence,
            "pixel_aspect": self.pixel_aspect,
        }

    def __enter__(self) -> LandmarkExtractor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MediaPipeHandsExtractor(LandmarkExtractor):
    """MediaPipe's standard Hands solution (palm detector, then hand-landmark model).

    Uses ``mp.solutions.hands`` with the models bundled in the ``mediapipe==0.10.21`` wheel, on
    the aspect-corrected frame. Static-image mode runs the palm detector on every frame;
    tracking mode re-detects only when the hand is lost.
    """

    name = "mediapipe"

    def __init__(self, *, model_complexity: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_complexity = model_complexity
        self._hands = None

    def _solution(self):
        if self._hands is None:
            import mediapipe as mp

            mark_runtime_started()
            self._hands = mp.solutions.hands.Hands(
                static_image_mode=not self.tracking,
                max_num_hands=1,
                model_complexity=self.model_complexity,
                min_detection_confidence=self.min_confidence,
                min_tracking_confidence=self.min_confidence,
            )
        return self._hands

    def process(self, image: np.ndarray) -> HandResult:
        """Runs MediaPipe Hands on one frame (see :meth:`LandmarkExtractor.process`)."""
        corrected = correct_aspect(image, self.pixel_aspect)
        aspect = corrected.shape[0] / corrected.shape[1]
        result = self._solution().process(to_rgb(corrected))
        if not result.multi_hand_landmarks:
            return HandResult(None, 0.0, aspect)
        points = result.multi_hand_landmarks[0].landmark
        landmarks = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32)
        score = float(result.multi_handedness[0].classification[0].score)
        return HandResult(landmarks, score, aspect)

    def reset(self) -> None:
        """Drops the tracked hand so the next frame runs the palm detector."""
        if self._hands is not None:
            self._hands.reset()

    def close(self) -> None:
        """Releases the MediaPipe graph."""
        if self._hands is not None:
            self._hands.close()
            self._hands = None

    def settings(self) -> dict[str, Any]:
        """See :meth:`LandmarkExtractor.settings`."""
        return {**super().settings(), "model_complexity": self.model_complexity}


def pad_photo(image: np.ndarray, factor: float = 2.0) -> tuple[np.ndarray, int, int]:
    """Puts a photo in the middle of a square ``factor`` times its longer side.

    The border repeats the photo's edge pixels (a neutral grey border found fewer hands on
    HaGRID close-ups: 81 % against 94 %).

    Returns:
        The padded image and the offsets ``(top, left)`` of the photo in it.
    """
    import cv2

    height, width = image.shape[:2]
    side = int(round(max(height, width) * factor))
    top, left = (side - height) // 2, (side - width) // 2
    padded = cv2.copyMakeBorder(
        image, top, side - height - top, left, side - width - left, cv2.BORDER_REPLICATE
    )
    return padded, top, left


def unpad_result(
    result: HandResult, shape: tuple[int, ...], top: int, left: int, padded: tuple[int, ...]
) -> HandResult:
    """Maps a result found on :func:`pad_photo`'s output back onto the photo.

    Args:
        result: What the extractor found on the padded image.
        shape: The photo's shape.
        top: Rows of border above the photo.
        left: Columns of border left of the photo.
        padded: The padded image's shape.

    Returns:
        The result in the photo's normalised coordinates (``z`` in units of its width).
    """
    height, width = shape[:2]
    if not result.detected:
        return HandResult(None, 0.0, height / width)
    points = np.array(result.landmarks, dtype=np.float64)
    points[:, 0] = (points[:, 0] * padded[1] - left) / width
    points[:, 1] = (points[:, 1] * padded[0] - top) / height
    points[:, 2] = points[:, 2] * padded[1] / width
    return HandResult(points.astype(np.float32), result.score, height / width)


class AutoExtractor(LandmarkExtractor):
    """Infrared extraction for grayscale frames, MediaPipe Hands for colour frames.

    Colour frames where MediaPipe Hands finds no hand are tried again, in static mode (photos
    and datasets), in three ways until one finds it: MediaPipe Hands on the photo inside a
    border (:func:`pad_photo`; the palm detector wants room around the hand), the full
    landmark model on the whole photo (a close-up is already the crop it wants), and the
    infrared extractor. On 320 HaGRID close-ups the hand is found in 58 % of photos by
    MediaPipe Hands alone and in 97 % with the first two fallbacks. In tracking mode (live
    video) the fallbacks are skipped: on webcam frames the infrared one found no hand
    MediaPipe had missed, and it cost about 50 ms on every frame without a hand, which a live
    stream cannot afford.
    """

    name = "auto"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from .infrared import InfraredHandExtractor

        self._standard = MediaPipeHandsExtractor(**kwargs)
        self._infrared = InfraredHandExtractor(**kwargs)

    def process(self, image: np.ndarray) -> HandResult:
        """See :meth:`LandmarkExtractor.process`."""
        if is_grayscale(image):
            return self._infrared.process(image)
        result = self._standard.process(image)
        if result.detected or self.tracking:
            return result
        return self._photo_fallbacks(image)

    def process_photo(self, image: np.ndarray) -> HandResult:
        """See :meth:`LandmarkExtractor.process_photo`: the fallbacks even in tracking mode."""
        if is_grayscale(image):
            return self._infrared.process(image)
        result = self._standard.process(image)
        return result if result.detected else self._photo_fallbacks(image)

    def _photo_fallbacks(self, image: np.ndarray) -> HandResult:
        padded, top, left = pad_photo(image)
        result = self._standard.process(padded)
        if result.detected:
            return unpad_result(result, image.shape, top, left, padded.shape)
        result = self._infrared.process_whole(image)
        if result.detected:
            return result
        return self._infrared.process(image)

    def reset(self) -> None:
        """See :meth:`LandmarkExtractor.reset`."""
        self._standard.reset()
        self._infrared.reset()

    def close(self) -> None:
        """See :meth:`LandmarkExtractor.close`."""
        self._standard.close()
        self._infrared.close()

    def settings(self) -> dict[str, Any]:
        """See :meth:`LandmarkExtractor.settings`; includes both extractors' own settings."""
        return {
            **super().settings(),
            "standard": self._standard.settings(),
            "infrared": self._infrared.settings(),
            "photo_fallbacks": ["pad_photo", "whole_image"],
        }


def make_extractor(name: str = "auto", **kwargs: Any) -> LandmarkExtractor:
    """Creates an extractor by name.

    Args:
        name: ``auto``, ``mediapipe`` or ``infrared``.
        **kwargs: Passed to the extractor (``tracking``, ``min_confidence``, ``pixel_aspect``).

    Returns:
        The extractor.

    Raises:
        InputError: For an unknown name.
    """
    if name == "mediapipe":
        return MediaPipeHandsExtractor(**kwargs)
    if name == "infrared":
        from .infrared import InfraredHandExtractor

        return InfraredHandExtractor(**kwargs)
    if name == "auto":
        return AutoExtractor(**kwargs)
    raise InputError(f"--extractor must be one of {', '.join(EXTRACTORS)}; got {name!r}")


# ---------------------------------------------------------------------------------------------
# The landmark file.

REQUIRED_ARRAYS = {
    "landmarks": (np.floating, 3),
    "detected": (np.bool_, 1),
    "score": (np.floating, 1),
    "subject": (np.str_, 1),
    "gesture": (np.str_, 1),
    "sequence": (np.str_, 1),
    "frame": (np.integer, 1),
    "path": (np.str_, 1),
}


@dataclass
class LandmarkTable:
    """The landmark file's arrays, one row per frame, in frame order within each recording.

    Attributes:
        landmarks: float32 ``(N, 21, 3)``, NaN where no hand was found.
        detected: bool ``(N,)``.
        score: float32 ``(N,)`` extractor confidence.
        subject: str ``(N,)``.
        gesture: str ``(N,)``.
        sequence: str ``(N,)``, one id per recording (``<subject>/<gesture>``).
        frame: int ``(N,)`` frame index within the recording.
        path: str ``(N,)`` source image path (may be empty for recorded sequences).
        aspect: float32 ``(N,)`` height / width of the corrected image (1.0 when absent).
        meta: Extraction settings and counts (the ``meta`` JSON string in the file).
    """

    landmarks: np.ndarray
    detected: np.ndarray
    score: np.ndarray
    subject: np.ndarray
    gesture: np.ndarray
    sequence: np.ndarray
    frame: np.ndarray
    path: np.ndarray
    aspect: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.aspect is None:
            self.aspect = np.ones(len(self.detected), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.detected)

    @property
    def extractor(self) -> str:
        """The extractor that produced the file (``unknown`` for a file without metadata)."""
        return str(self.meta.get("extractor", {}).get("extractor", "unknown"))

    @property
    def gestures(self) -> list[str]:
        """Distinct gestures, sorted."""
        return sorted(set(self.gesture.tolist()))

    @property
    def subjects(self) -> list[str]:
        """Distinct subjects, sorted."""
        return sorted(set(self.subject.tolist()))

    def sequences(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yields ``(sequence id, row indices in frame order)`` for each recording."""
        order = np.lexsort((self.frame, self.sequence))
        ids = self.sequence[order]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for start, end in zip(starts, ends, strict=True):
            yield str(ids[start]), order[start:end]

    def subset(self, rows: np.ndarray) -> LandmarkTable:
        """Returns the rows selected by a boolean mask or an index array."""
        return LandmarkTable(
            **{name: getattr(self, name)[rows] for name in (*REQUIRED_ARRAYS, "aspect")},
            meta=dict(self.meta),
        )

    def coverage(self) -> dict[str, float]:
        """Share of frames with a detected hand, per gesture and ``overall``."""
        result = {g: float(self.detected[self.gesture == g].mean()) for g in self.gestures}
        result["overall"] = float(self.detected.mean()) if len(self) else 0.0
        return result

    def save(self, path: str | os.PathLike) -> None:
        """Writes the table as an uncompressed ``.npz``, atomically."""
        path = Path(path)
        tmp = atomic_output(path)
        try:
            np.savez(
                tmp,
                landmarks=self.landmarks.astype(np.float32),
                detected=self.detected.astype(bool),
                score=self.score.astype(np.float32),
                subject=self.subject.astype(str),
                gesture=self.gesture.astype(str),
                sequence=self.sequence.astype(str),
                frame=self.frame.astype(np.int64),
                path=self.path.astype(str),
                aspect=np.asarray(self.aspect, dtype=np.float32),
                meta=np.array(json.dumps(self.meta)),
            )
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LandmarkTable:
        """Reads and checks a landmark file.

        Args:
            path: A ``.npz`` written by ``hand-gesture extract`` or by a user.

        Returns:
            The table.

        Raises:
            InputError: If the file is missing, unreadable, lacks an array or has wrong shapes.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: landmark file not found")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except Exception as error:  # noqa: BLE001 - any failure means "not a landmark file".
            raise InputError(f"{path}: not a readable .npz landmark file ({error})") from None
        missing = [name for name in REQUIRED_ARRAYS if name not in arrays]
        if missing:
            raise InputError(f"{path}: missing arrays {', '.join(missing)}")
        rows = len(arrays["landmarks"])
        for name, (kind, ndim) in REQUIRED_ARRAYS.items():
            array = arrays[name]
            if array.ndim != ndim or len(array) != rows:
                raise InputError(
                    f"{path}: array {name!r} has shape {array.shape}, expected "
                    f"{'(N, 21, 3)' if ndim == 3 else '(N,)'} with N={rows}"
                )
            if not np.issubdtype(array.dtype, kind):
                raise InputError(f"{path}: array {name!r} has dtype {array.dtype}")
        if arrays["landmarks"].shape[1:] != (NUM_LANDMARKS, 3):
            raise InputError(
                f"{path}: array 'landmarks' has shape {arrays['landmarks'].shape}, "
                "expected (N, 21, 3)"
            )
        if rows == 0:
            raise InputError(f"{path}: the landmark file holds no frames")
        meta = _read_meta(path, arrays.get("meta"))
        aspect = arrays.get("aspect")
        if aspect is not None:
            if aspect.shape != (rows,) or not np.issubdtype(aspect.dtype, np.number):
                raise InputError(
                    f"{path}: array 'aspect' has shape {aspect.shape} and dtype {aspect.dtype}, "
                    f"expected numbers of shape ({rows},)"
                )
            if not (np.isfinite(aspect).all() and (aspect > 0).all()):
                raise InputError(f"{path}: array 'aspect' holds values that are not finite and > 0")
        detected = arrays["detected"].astype(bool)
        bad = ~np.isfinite(arrays["landmarks"][detected]).all(axis=(1, 2))
        if bad.any():
            first = int(np.flatnonzero(detected)[np.flatnonzero(bad)[0]])
            raise InputError(
                f"{path}: {int(bad.sum())} frame(s) marked detected have non-finite landmarks "
                f"(NaN or inf; first: row {first}, {arrays['sequence'][first]!s})"
            )
        if not np.isfinite(arrays["score"]).all():
            raise InputError(f"{path}: array 'score' holds values that are not finite")
        return cls(
            landmarks=arrays["landmarks"].astype(np.float32),
            detected=arrays["detected"].astype(bool),
            score=arrays["score"].astype(np.float32),
            subject=arrays["subject"],
            gesture=arrays["gesture"],
            sequence=arrays["sequence"],
            frame=arrays["frame"].astype(np.int64),
            path=arrays["path"],
            aspect=None if aspect is None else aspect.astype(np.float32),
            meta=meta,
        )

    @classmethod
    def concatenate(cls, parts: list[LandmarkTable], meta: dict[str, Any]) -> LandmarkTable:
        """Joins tables row-wise."""

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts])

        return cls(**{name: cat(name) for name in (*REQUIRED_ARRAYS, "aspect")}, meta=meta)


def _read_meta(path: Path, array: np.ndarray | None) -> dict[str, Any]:
    """The ``meta`` JSON object of a landmark file ({} when it has none)."""
    if array is None:
        return {}
    if array.shape != () or not np.issubdtype(array.dtype, np.str_):
        raise InputError(f"{path}: array 'meta' must be one JSON string, got shape {array.shape}")
    try:
        meta = json.loads(str(array))
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: array 'meta' is not valid JSON ({error})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: array 'meta' must be a JSON object, got {type(meta).__name__}")
    for name, kind, word in (("extractor", dict, "object"), ("unreadable", list, "list")):
        if name in meta and not isinstance(meta[name], kind):
            raise InputError(f"{path}: meta field {name!r} must be a JSON {word}")
    return meta


# ---------------------------------------------------------------------------------------------
# Running an extractor over a dataset.


@dataclass
class ExtractionSummary:
    """What :func:`extract_landmarks` did."""

    path: Path
    frames: int
    detected: int
    unreadable: list[str]
    reused: bool

    @property
    def coverage(self) -> float:
        """Share of readable frames with a detected hand."""
        return self.detected / self.frames if self.frames else 0.0


#: Runs the extractor over recordings instead of the local worker processes. It is called as
#: ``engine(recordings, extractor name, extractor options, keep, bar)`` and must call
#: ``keep(recording, table, unreadable, advance=False)`` once per finished recording (tables from
#: :func:`recording_table`) and advance the tqdm ``bar`` by frames done; see
#: :class:`hand_gesture_recognition.cluster.RayEngine`.
Engine = Callable[[list[Recording], str, dict[str, Any], Callable[..., None], Any], None]

# Per-process extractor of a worker; each worker process builds its own once.
_worker_state: dict[str, Any] = {}


#: Images smaller than this on either side hold no hand; they are skipped like corrupt ones.
MIN_IMAGE_SIDE = 8
#: Resident memory of one extraction worker (MediaPipe graphs and TensorFlow Lite), measured.
WORKER_MEMORY_BYTES = 350 * 2**20
_PR_SET_PDEATHSIG = 1


def _init_worker(name: str, options: dict[str, Any]) -> None:
    _worker_state["extractor"] = make_extractor(name, **options)


def _init_pool_worker(name: str, options: dict[str, Any], parent: int) -> None:
    # Ctrl-C is the parent's to handle: it ends the pool. A worker that took it too would die
    # with a traceback and leave the pool waiting for its results.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    _init_worker(name, options)


def die_with_parent(parent: int) -> None:
    """Makes the kernel kill this process when its parent dies, however it dies (Linux).

    Args:
        parent: The parent's process id, to catch a parent that died before the call.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)


def available_memory() -> int | None:
    """Bytes of memory available for new processes (``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def bounded_workers(requested: int, tasks: int) -> tuple[int, str | None]:
    """How many extraction workers to start: at most the cores, the memory and the tasks allow.

    Args:
        requested: ``--workers``.
        tasks: Recordings to extract.

    Returns:
        The number of workers, and why it is fewer than requested (None when it is not, or
        only because there are fewer recordings).
    """
    cores = usable_cores()
    memory = available_memory()
    by_memory = max(1, memory // WORKER_MEMORY_BYTES) if memory else requested
    limit = min(requested, cores, by_memory)
    reason = None
    if limit < requested and limit < tasks:
        reason = (
            f"--workers {requested}: using {limit} ({cores} core(s), "
            f"{(memory or 0) / 2**30:.1f} GiB available at ~{WORKER_MEMORY_BYTES // 2**20} MB "
            "per worker)"
        )
    return max(1, min(limit, tasks)), reason


def read_frame(path: str | os.PathLike) -> np.ndarray | None:
    """Reads one frame as the extractors expect it (uint8); None when it is not a readable image."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    # An image smaller than MIN_IMAGE_SIDE holds no hand; it counts like a corrupt frame.
    if image is None or image.size == 0 or min(image.shape[:2]) < MIN_IMAGE_SIDE:
        return None
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    return image


def extract_frames(
    extractor: LandmarkExtractor, frames: Sequence[str | os.PathLike]
) -> tuple[list[tuple[int, str, HandResult]], list[str]]:
    """Runs an extractor over consecutive frames of one recording, in order.

    Args:
        extractor: The extractor; it is reset first, and after each unreadable frame.
        frames: Image paths in time order.

    Returns:
        ``(position in frames, absolute path, result)`` for each readable frame, and the paths
        of the frames that could not be read.
    """
    extractor.reset()
    rows: list[tuple[int, str, HandResult]] = []
    unreadable: list[str] = []
    for index, frame_path in enumerate(frames):
        image = read_frame(frame_path)
        if image is None:
            unreadable.append(str(frame_path))
            extractor.reset()
            continue
        rows.append((index, os.path.abspath(frame_path), extractor.process(image)))
    return rows, unreadable


def recording_table(
    recording: Recording, rows: Sequence[tuple[int, str, HandResult]]
) -> LandmarkTable:
    """Builds one recording's table from ``(frame index, path, result)`` rows in frame order."""
    n = len(rows)
    landmarks = np.full((n, NUM_LANDMARKS, 3), np.nan, dtype=np.float32)
    for i, (_, _, result) in enumerate(rows):
        if result.detected:
            landmarks[i] = result.landmarks
    return LandmarkTable(
        landmarks=landmarks,
        detected=np.array([r.detected for _, _, r in rows], dtype=bool),
        score=np.array([r.score for _, _, r in rows], dtype=np.float32),
        subject=np.array([recording.subject] * n, dtype=str),
        gesture=np.array([recording.gesture] * n, dtype=str),
        sequence=np.array([recording.sequence_id] * n, dtype=str),
        frame=np.array([i for i, _, _ in rows], dtype=np.int64),
        path=np.array([p for _, p, _ in rows], dtype=str),
        aspect=np.array([r.aspect for _, _, r in rows], dtype=np.float32),
    )


def _extract_recording(recording: Recording) -> tuple[LandmarkTable, list[str]]:
    rows, unreadable = extract_frames(_worker_state["extractor"], recording.frames)
    return recording_table(recording, rows), unreadable


def _extract_here(todo: list[Recording], extractor: str, options: dict[str, Any], keep) -> None:
    """Extracts recordings in this process, handing each result to ``keep``."""
    _init_worker(extractor, options)
    try:
        for recording in todo:
            keep(recording, *_extract_recording(recording))
    finally:
        _worker_state.pop("extractor").close()


def _extract_in_pool(
    todo: list[Recording], count: int, extractor: str, options: dict[str, Any], keep
) -> None:
    """Extracts recordings in ``count`` worker processes, handing each result to ``keep``.

    The workers ignore Ctrl-C and die with this process; Ctrl-C here (or any failure)
    terminates them at once instead of waiting for their work.
    """
    # Forked workers start without importing MediaPipe again (seconds saved per worker);
    # each builds its own graph.
    can_fork = os.name == "posix" and not _process_state["runtime_started"]
    context = multiprocessing.get_context("fork" if can_fork else "spawn")
    by_id = {r.sequence_id: r for r in todo}
    # Workers start with Ctrl-C ignored (forked or spawned, they inherit it; their
    # initializer keeps it so).
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pool = context.Pool(count, _init_pool_worker, (extractor, options, os.getpid()))
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        for sequence_id, table, skipped in pool.imap_unordered(_extract_by_id, todo):
            keep(by_id[sequence_id], table, skipped)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _extract_by_id(recording: Recording) -> tuple[str, LandmarkTable, list[str]]:
    return (recording.sequence_id, *_extract_recording(recording))


def _recording_key(recording: Recording) -> str:
    """Changes when any frame of the recording is added, removed, replaced or edited."""
    digest = hashlib.sha256(recording.sequence_id.encode())
    for frame in recording.frames:
        try:
            name, size, mtime = file_fingerprint(frame)
        except OSError:
            name, size, mtime = frame.name, -1, -1
        digest.update(f"{name}\0{size}\0{mtime}\0".encode())
    return digest.hexdigest()[:16]


def _settings_key(settings: dict[str, Any], recordings: list[Recording] = ()) -> str:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for recording in recordings:
        digest.update(_recording_key(recording).encode())
    return digest.hexdigest()[:16]


#: Marks a ``<out>.parts/`` folder as made by :func:`extract_landmarks`.
PARTS_MARKER = ".hand-gesture-parts"


def _check_landmark_output(out: Path, key: str, force: bool) -> LandmarkTable | None:
    """Checks ``--out`` and ``<out>.parts/`` before extraction; returns a reusable result.

    Raises:
        InputError: If either holds something else and ``force`` is false.
    """
    if out.exists():
        try:
            existing = LandmarkTable.load(out)
        except InputError:
            existing = None
        if existing is not None and existing.meta.get("key") == key:
            return existing
        if not force:
            what = (
                "holds landmarks of other frames or settings"
                if existing is not None
                else "exists and is not a landmark file"
            )
            raise InputError(f"--out {out}: {what}; pass --force to replace it")
    parts = out.with_name(out.name + ".parts")
    if parts.exists() and not (parts / PARTS_MARKER).is_file() and not force:
        raise InputError(
            f"--out {out}: {parts} exists and was not made by hand-gesture extract; "
            "move it away or pass --force to write beside what it holds"
        )
    return None


def extract_landmarks(
    data_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    extractor: str = "auto",
    workers: int = 1,
    tracking: bool = False,
    min_confidence: float = 0.5,
    pixel_aspect: float | None = None,
    progress: bool = True,
    engine: Engine | None = None,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> ExtractionSummary:
    """Extracts landmarks from every frame of a LeapGestRecog-shaped tree into one ``.npz``.

    Recordings are processed in parallel worker processes. Each finished recording is kept in
    a ``<out>.parts/`` folder so that an interrupted run resumes where it stopped; a finished
    file made with the same settings from the same frames (names, sizes and modification
    times) is reused as it is. Anything else at ``out`` is replaced only with ``force``. The
    number of workers is bounded by the cores and the memory. Ctrl-C ends the workers at once
    (and they end when this process is killed).

    Args:
        data_dir: The tree (see :func:`hand_gesture_recognition.dataset.find_recordings`).
        out: The ``.npz`` file to write.
        extractor: ``auto``, ``mediapipe`` or ``infrared``.
        workers: Worker processes (1 runs in this process).
        tracking: Let each frame's landmarks guide the next within a recording.
        min_confidence: Confidence under which a frame has no hand.
        pixel_aspect: Pixel height / width; None assumes Leap Motion frames for 640x240.
        progress: Show a progress bar.
        engine: Runs the extraction elsewhere (e.g. on Ray) instead of ``workers`` local
            processes; resuming, the file and its contract stay the same.
        force: Replace an ``out`` that is not this extraction's result.
        log: Receives notes (fewer workers than asked for).

    Returns:
        A summary with the coverage and the unreadable frames that were skipped.

    Raises:
        InputError: For a missing or unrecognisable tree, bad options, or an ``out`` that
            exists without ``force``.
    """
    from tqdm.auto import tqdm

    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    out = Path(out)
    if out.suffix != ".npz":
        raise InputError(f"{out}: the landmark file must end in .npz")
    if out.is_dir():
        raise InputError(f"--out {out}: is a directory, expected a .npz file")
    check_writable_location(out, "--out")
    recordings = find_recordings(data_dir)
    options = {"tracking": tracking, "min_confidence": min_confidence, "pixel_aspect": pixel_aspect}
    probe = make_extractor(extractor, **options)
    settings = probe.settings()
    probe.close()
    key = _settings_key(settings, recordings)

    existing = _check_landmark_output(out, key, force)
    if existing is not None:
        return ExtractionSummary(
            out,
            len(existing),
            int(existing.detected.sum()),
            list(existing.meta.get("unreadable", [])),
            reused=True,
        )

    parts_root = out.with_name(out.name + ".parts")
    made_root = not parts_root.exists()
    parts_dir = parts_root / _settings_key(settings)
    parts_dir.mkdir(parents=True, exist_ok=True)
    if made_root:
        (parts_root / PARTS_MARKER).touch()
    tables: dict[str, LandmarkTable] = {}
    unreadable: list[str] = []
    todo: list[Recording] = []

    def part_path(recording: Recording) -> Path:
        name = recording.sequence_id.replace("/", "__")
        return parts_dir / f"{name}-{_recording_key(recording)}.npz"

    for recording in recordings:
        part = part_path(recording)
        if part.exists():
            try:
                cached = LandmarkTable.load(part)
                tables[recording.sequence_id] = cached
                unreadable.extend(cached.meta.get("unreadable", []))
                continue
            except InputError:
                part.unlink()
        todo.append(recording)

    total = sum(len(r.frames) for r in recordings)
    done = total - sum(len(r.frames) for r in todo)
    bar = tqdm(total=total, initial=done, unit="frame", desc="landmarks", disable=not progress)

    def keep(
        recording: Recording, table: LandmarkTable, skipped: list[str], advance: bool = True
    ) -> None:
        table.meta = {"unreadable": skipped}
        if len(table):
            table.save(part_path(recording))
        tables[recording.sequence_id] = table
        unreadable.extend(skipped)
        if advance:
            bar.update(len(recording.frames))

    count, reason = bounded_workers(workers, len(todo))
    if reason and log is not None and engine is None:
        log(reason)
    try:
        if todo and engine is not None:
            engine(todo, extractor, options, keep, bar)
        elif todo and count == 1:
            _extract_here(todo, extractor, options, keep)
        elif todo:
            _extract_in_pool(todo, count, extractor, options, keep)
    finally:
        # Ends the bar's line, so that a message after an interruption starts a new one.
        bar.close()

    ordered = [tables[r.sequence_id] for r in recordings if len(tables[r.sequence_id])]
    if not ordered:
        raise InputError(f"{data_dir}: no readable frames found")
    meta = {
        "extractor": settings,
        "key": key,
        "unreadable": sorted(unreadable),
        "data_dir": str(data_dir),
    }
    table = LandmarkTable.concatenate(ordered, meta)
    table.save(out)
    # Only what this extraction made: its parts, and the parts folder if it made it and it is
    # now empty.
    shutil.rmtree(parts_dir, ignore_errors=True)
    leftover = {p.name for p in parts_root.iterdir()} if parts_root.is_dir() else set()
    if leftover <= {PARTS_MARKER} and (made_root or PARTS_MARKER in leftover):
        (parts_root / PARTS_MARKER).unlink(missing_ok=True)
        parts_root.rmdir()
    return ExtractionSummary(
        out, len(table), int(table.detected.sum()), sorted(unreadable), reused=False
    )
