"""Hand landmark extractors: one small interface and MediaPipe Hands behind it.

Every extractor turns one image into a :class:`HandResult`: 21 landmarks ``(x, y, z)`` in
MediaPipe's convention (``x`` and ``y`` normalised by the width and height of the
aspect-corrected image, ``z`` roughly in units of the width), a confidence, and the corrected
image's height-to-width ratio, which features need to undo the normalisation. The infrared
extractor (:mod:`~hand_gesture_recognition.infrared`) implements the same interface;
:func:`~hand_gesture_recognition.landmarks.make_extractor` picks one by name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import InputError

NUM_LANDMARKS = 21

# Whether this process has started a model runtime. MediaPipe graphs run their own threads,
# and forking a process that holds them can deadlock the child, so extraction forks its
# workers only from a process that has not started one (and spawns them otherwise).
process_state = {"runtime_started": False}


def mark_runtime_started() -> None:
    """Records that this process now runs a model runtime with threads of its own."""
    process_state["runtime_started"] = True


class _MediaPipeImport(importlib.abc.MetaPathFinder):
    """What :func:`import_mediapipe` changes while MediaPipe is imported.

    Args:
        block_tensorflow: Make ``import tensorflow`` fail as if it were not installed.
    """

    def __init__(self, block_tensorflow: bool) -> None:
        self.block_tensorflow = block_tensorflow

    def find_spec(self, name, path=None, target=None):
        if self.block_tensorflow and (name == "tensorflow" or name.startswith("tensorflow.")):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if name == "matplotlib.pyplot":
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is not None and spec.loader is not None:
                spec.loader = importlib.util.LazyLoader(spec.loader)
            return spec
        return None


def import_mediapipe():
    """Imports MediaPipe without the TensorFlow and the pyplot it would import first.

    ``import mediapipe`` imports TensorFlow only for a documentation decorator (its
    ``optional_dependencies`` falls back to a no-op when TensorFlow is missing), which takes
    about 7 s of every process that extracts landmarks: workers, Ray actors, ``predict``.
    TensorFlow stays importable afterwards for whatever needs it. Its drawing utilities also
    import ``matplotlib.pyplot`` for a 3-D plot that nothing here draws (about 0.9 s): that
    module is registered with the standard library's lazy loader instead, so it runs on its
    first use, if any.

    Returns:
        The ``mediapipe`` module.
    """
    if "mediapipe" in sys.modules:
        return sys.modules["mediapipe"]
    hook = _MediaPipeImport(block_tensorflow="tensorflow" not in sys.modules)
    sys.meta_path.insert(0, hook)
    try:
        return importlib.import_module("mediapipe")
    finally:
        sys.meta_path.remove(hook)


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


def read_image(path: str | os.PathLike) -> np.ndarray | None:
    """Reads an image file as the extractors take it: uint8 grayscale or BGR, upright.

    The orientation a phone or camera records in a photo's EXIF data is applied: a photo
    taken upright but stored turned (as phones store portrait and upside-down photos) is
    read upright, and a hand in it does not point sideways or down. An alpha channel is
    dropped and other bit depths are scaled to 8 bits.

    Args:
        path: The image file.

    Returns:
        The image, or None when the file is not a readable image.
    """
    import cv2

    # Any depth and channels, like IMREAD_UNCHANGED, which would ignore the EXIF orientation.
    image = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None or image.size == 0:
        return None
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    return image


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
            mp = import_mediapipe()
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


def corner_tiles(image: np.ndarray, share: float = 0.6) -> list[tuple[np.ndarray, int, int]]:
    """Four overlapping corner tiles of a frame, each ``share`` of its width and height.

    A hand far from the camera is too small in the whole frame for MediaPipe's palm detector,
    which sees the frame shrunk to 192 pixels; in a tile it is larger. With ``share`` 0.6 the
    tiles overlap by a fifth of the frame, so a hand up to that size lies whole in one of them.

    Args:
        image: The frame, ``(H, W)`` or ``(H, W, C)``.
        share: Each tile's width and height as a share of the frame's.

    Returns:
        Each tile (a view) and the offsets ``(top, left)`` of the frame in it (zero or
        negative), for :func:`unpad_result`; top left, top right, bottom left, bottom right.
    """
    height, width = image.shape[:2]
    tile_height, tile_width = round(height * share), round(width * share)
    return [
        (image[top : top + tile_height, left : left + tile_width], -top, -left)
        for top in (0, height - tile_height)
        for left in (0, width - tile_width)
    ]


def unpad_result(
    result: HandResult, shape: tuple[int, ...], top: int, left: int, padded: tuple[int, ...]
) -> HandResult:
    """Maps a result found on :func:`pad_photo`'s output or a tile back onto the photo.

    Args:
        result: What the extractor found on the padded image or tile.
        shape: The photo's shape.
        top: Rows of border above the photo (negative: rows of the photo above the tile).
        left: Columns of border left of the photo (negative: columns of it left of the tile).
        padded: The padded image's or tile's shape.

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
