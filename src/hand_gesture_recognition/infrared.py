"""Hand landmarks in near-infrared (Leap Motion) frames, without MediaPipe's palm detector.

MediaPipe Hands first finds a palm with its palm-detection model, then runs its hand-landmark
model on a rotated square crop around that palm. On Leap Motion frames the hand is an
over-exposed bright blob on a dark background, and the palm detector misses most of them. The
hand-landmark model itself copes well once it is given a sensible crop, so
:class:`InfraredHandExtractor` proposes the crop itself:

1. The hand is the largest bright connected region of the frame (blur, threshold).
2. The hand points from where the arm enters the frame towards the region's centre; this gives
   the crop's rotation, and the region's extent in that rotated frame gives its size.
3. MediaPipe's lite hand-landmark model runs on that crop. When it sees something hand-like, the
   crop is re-made from its landmarks exactly as MediaPipe's tracking step does, and the full
   hand-landmark model (the one ``mp.solutions.hands`` uses) runs on it. Its landmarks and
   presence probability are the result.
4. When the full model's presence stays under ``min_confidence``, a few other crops (other
   angles, scales, a dimmed or tinted or mirrored frame) are tried, in an order chosen by
   measurement on LeapGestRecog; the first one the model accepts wins. A ``direct`` crop skips
   the lite screen and re-crop and is read by the full model as it is (the sideways fist of
   04_fist_moved's second view is found only that way). If none is accepted,
   one last crop is made from the landmarks of the most hand-like try (``rescue``).

In tracking mode the previous frame's landmarks propose the crop first (one model run), and the
search above runs only when that crop is rejected.

Both models are the ``.tflite`` files bundled in the installed ``mediapipe`` wheel, run with
LiteRT (:mod:`.litert`). Cropping, landmark projection and the landmarks-to-crop rule reproduce
MediaPipe's graph, so on the same crop the landmarks equal MediaPipe's to ~1e-4 of the width.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from .errors import InputError
from .extractor import (
    NUM_LANDMARKS,
    HandResult,
    LandmarkExtractor,
    correct_aspect,
    import_mediapipe,
    is_grayscale,
    pixel_aspect_for,
    to_rgb,
)
from .litert import LiteRTRunner

#: The hand-landmark models' input side, in pixels.
MODEL_INPUT = 224
#: MediaPipe's TensorsToLandmarksCalculator ``normalize_z`` for the hand-landmark model.
_Z_NORMALISATION = 0.4
#: Landmarks MediaPipe uses to place the next crop (wrist, thumb base, finger bases and PIPs).
_ROI_LANDMARKS = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)
#: Width of the downscaled frame the bright region is searched in (pixels); the crop is refined
#: from landmarks afterwards, so this coarse search loses nothing and costs a quarter.
_SEARCH_WIDTH = 320
#: RGB gains per tone for grayscale frames (``skin`` tints grey towards a darker skin colour).
_TONES: dict[str, tuple[float, float, float] | None] = {
    "none": None,
    "dim": (0.6, 0.6, 0.6),
    "skin": (0.7, 0.5, 0.4),
}


class Rect(NamedTuple):
    """A rotated square in pixel coordinates.

    Attributes:
        cx: Centre x.
        cy: Centre y.
        side: Side length.
        rotation: Radians; 0 means the crop's top is the image's top, positive turns clockwise
            (MediaPipe's ``NormalizedRect.rotation`` convention).
    """

    cx: float
    cy: float
    side: float
    rotation: float


@dataclass(frozen=True)
class CropTry:
    """One way of cropping the bright region for the landmark model.

    Attributes:
        scale: Crop side relative to the region's extent (the larger of length and width).
        angle: Degrees added to the rotation estimated from the arm's direction.
        anchor: ``region`` centres the crop on the whole bright region; ``hand`` on its part
            farthest from the arm (about 1.5 hand widths long), which drops the forearm.
        tone: ``none`` (the frame as it is), ``dim`` (intensities times 0.6) or ``skin``
            (grey turned into a darker skin-like tint). Colour frames always use ``none``.
        mirror: Mirror the crop left-right (the model reads some poses better as the other
            hand); landmarks are mapped back to the unmirrored frame.
        direct: Run the full model on this crop itself (one model run) instead of screening
            it with the lite model and re-cropping from the lite landmarks (two runs). Some
            poses (the sideways fist) are found on the region crop but lost by the re-crop.
    """

    scale: float
    angle: float = 0.0
    anchor: str = "region"
    tone: str = "none"
    mirror: bool = False
    direct: bool = False


#: The crops tried in order until the model accepts one. Chosen greedily (most frames gained per
#: millisecond) on every fifth frame of the LeapGestRecog sample; see benchmarks/coverage.py.
#: The third (full model straight on a mirrored, skin-tinted crop turned 60 degrees) finds the
#: sideways fist of 04_fist_moved's second camera view, which every other crop misses.
DEFAULT_TRIES: tuple[CropTry, ...] = (
    CropTry(1.4, 0.0, "hand"),
    CropTry(1.4, -45.0, "region", "dim"),
    CropTry(1.55, -60.0, "hand", "skin", mirror=True, direct=True),
    CropTry(1.2, 25.0, "region", "dim"),
    CropTry(1.2, 0.0, "region", "none", mirror=True),
    CropTry(1.4, -45.0, "region", "dim", mirror=True),
    CropTry(1.4, -30.0, "region", "skin", mirror=True),
)


class HandRegion(NamedTuple):
    """The bright region taken for the hand, in pixel coordinates of the corrected frame.

    Attributes:
        xs: x of the region's pixels (of the downscaled search image, scaled back).
        ys: y of the region's pixels.
        centre: ``(x, y)`` centroid.
        direction: Unit vector from where the arm enters the frame to the centroid (straight
            up when the region touches no border).
        area: Share of the frame the region covers.
    """

    xs: np.ndarray
    ys: np.ndarray
    centre: np.ndarray
    direction: np.ndarray
    area: float


def find_hand_region(
    gray: np.ndarray, *, threshold: int = 90, blur: int = 3, min_area: float = 0.002
) -> HandRegion | None:
    """Finds the largest bright connected region of a grayscale frame.

    Args:
        gray: ``(H, W)`` uint8 frame with square pixels.
        threshold: Intensity over which a (blurred) pixel is bright.
        blur: Gaussian kernel size applied before thresholding, in pixels of the search image
            (the frame scaled to 320 pixels wide); 0 for none.
        min_area: Smallest region, as a share of the frame, taken for a hand.

    Returns:
        The region, or None when no region is large enough.
    """
    import cv2

    height, width = gray.shape
    factor = min(1.0, _SEARCH_WIDTH / width)
    small = gray
    if factor < 1.0:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    if blur > 1:
        small = cv2.GaussianBlur(small, (blur | 1, blur | 1), 0)
    _, mask = cv2.threshold(small, threshold, 255, cv2.THRESH_BINARY)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    area = stats[best, cv2.CC_STAT_AREA] / float(small.size)
    if area < min_area:
        return None
    ys, xs = np.nonzero(labels == best)
    # Pixel centres of the small image, in full-frame pixel coordinates.
    sx, sy = width / small.shape[1], height / small.shape[0]
    xs = (xs.astype(np.float32) + 0.5) * sx - 0.5
    ys = (ys.astype(np.float32) + 0.5) * sy - 0.5
    centre = np.array(
        [(centroids[best][0] + 0.5) * sx - 0.5, (centroids[best][1] + 0.5) * sy - 0.5]
    )

    margin = 1.5 * max(sx, sy)
    on_border = (
        (xs < margin) | (ys < margin) | (xs > width - 1 - margin) | (ys > height - 1 - margin)
    )
    direction = np.array([0.0, -1.0])
    if on_border.sum() >= 3:
        entry = np.array([xs[on_border].mean(), ys[on_border].mean()])
        offset = centre - entry
        norm = float(np.hypot(*offset))
        if norm > 1e-6:
            direction = offset / norm
    return HandRegion(xs, ys, centre, direction, float(area))


def region_rect(region: HandRegion, attempt: CropTry) -> Rect:
    """The crop one :class:`CropTry` makes of a region.

    Args:
        region: The bright region.
        attempt: Scale, angle offset and anchor of the crop.

    Returns:
        The rotated square crop.
    """
    dx, dy = region.direction
    # MediaPipe's rotation: the angle that turns "up" into the hand's direction.
    base = math.pi / 2 - math.atan2(-dy, dx)
    cos, sin = math.cos(base), math.sin(base)
    # Region pixels in the crop's axes: u to the crop's right, v down (towards the arm).
    rx, ry = region.xs - region.centre[0], region.ys - region.centre[1]
    u = rx * cos + ry * sin
    v = -rx * sin + ry * cos
    v_min, v_max = float(v.min()), float(v.max())
    if attempt.anchor == "hand":
        # Keep the far end of the region: as long as 1.5 times the width of its far half.
        far = v < v_min + (v_max - v_min) / 2
        width = float(u[far].max() - u[far].min())
        keep = v <= min(v_max, v_min + 1.5 * width)
        u, v = u[keep], v[keep]
        v_max = float(v.max())
    u_min, u_max = float(u.min()), float(u.max())
    uc, vc = (u_min + u_max) / 2, (v_min + v_max) / 2
    cx = region.centre[0] + uc * cos - vc * sin
    cy = region.centre[1] + uc * sin + vc * cos
    size = max(u_max - u_min, v_max - v_min, 1.0)
    return Rect(float(cx), float(cy), size * attempt.scale, base + math.radians(attempt.angle))


def landmarks_rect(points: np.ndarray, *, scale: float = 2.0, shift: float = -0.1) -> Rect:
    """The crop MediaPipe makes around a hand from its landmarks (its tracking step).

    Reproduces ``HandLandmarksToRectCalculator`` followed by ``RectTransformationCalculator``
    (``scale_x = scale_y = 2``, ``shift_y = -0.1``, ``square_long``) in pixel coordinates.

    Args:
        points: ``(21, 2+)`` landmarks in pixels.
        scale: Crop side relative to the landmarks' extent.
        shift: Shift of the centre along the hand's direction, relative to its length
            (negative moves towards the fingers).

    Returns:
        The rotated square crop.
    """
    p = np.asarray(points, dtype=np.float64)[list(_ROI_LANDMARKS), :2]
    x0, y0 = p[0]
    # Index 4, 6, 8 of the subset are the index, middle and ring finger bases.
    x1 = ((p[4, 0] + p[8, 0]) / 2 + p[6, 0]) / 2
    y1 = ((p[4, 1] + p[8, 1]) / 2 + p[6, 1]) / 2
    rotation = math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0)
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
    axis_centre = (p.max(0) + p.min(0)) / 2
    d = p - axis_centre
    cos, sin = math.cos(rotation), math.sin(rotation)
    # Landmarks in the hand's own axes (rotated by -rotation).
    q = np.stack([d[:, 0] * cos + d[:, 1] * sin, -d[:, 0] * sin + d[:, 1] * cos], axis=1)
    qc = (q.max(0) + q.min(0)) / 2
    width, height = q.max(0) - q.min(0)
    cx = qc[0] * cos - qc[1] * sin + axis_centre[0] - height * shift * sin
    cy = qc[0] * sin + qc[1] * cos + axis_centre[1] + height * shift * cos
    return Rect(float(cx), float(cy), float(max(width, height) * scale), float(rotation))


def check_image(image: Any) -> None:
    """Raises :class:`InputError` unless ``image`` is a usable uint8 frame.

    Args:
        image: What was passed as a frame.

    Raises:
        InputError: For a non-array, a wrong dtype or shape, or an empty or tiny frame.
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"frame must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"frame must be uint8 (8-bit grayscale or BGR), got dtype {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise InputError(
            f"frame must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got shape {image.shape}"
        )
    if min(image.shape[:2]) < 8:
        raise InputError(f"frame is empty or too small: shape {image.shape}")


class _Model:
    """One of MediaPipe's bundled hand-landmark ``.tflite`` models, run by LiteRT."""

    def __init__(self, variant: str) -> None:
        mediapipe = import_mediapipe()
        path = os.path.join(
            os.path.dirname(mediapipe.__file__),
            "modules",
            "hand_landmark",
            f"hand_landmark_{variant}.tflite",
        )
        if not os.path.isfile(path):
            raise InputError(f"{path}: MediaPipe's hand-landmark model is missing")
        self.runner = LiteRTRunner(path)
        # MediaPipe's graph: Identity = 21 screen landmarks, Identity_1 = hand presence.
        missing = {"Identity", "Identity_1"} - set(self.runner.output_shapes)
        if missing:
            raise InputError(
                f"{path}: expected outputs Identity and Identity_1 (landmarks, presence)"
            )

    def __call__(
        self,
        image: np.ndarray,
        rect: Rect,
        mirror: bool,
        gains: tuple[float, float, float] | None = None,
    ) -> tuple[np.ndarray, float]:
        """Runs the model on one crop.

        Args:
            image: ``(H, W)`` grayscale or ``(H, W, 3)`` RGB uint8 frame.
            rect: The crop.
            mirror: Mirror the crop left-right.
            gains: Per-channel (RGB) factors for a grayscale frame, e.g. to dim it.

        Returns:
            ``(21, 3)`` landmarks in frame pixels (``z`` in pixels too) and the presence.
        """
        import cv2

        cos, sin = math.cos(rect.rotation), math.sin(rect.rotation)
        k = rect.side / MODEL_INPUT
        half = MODEL_INPUT / 2
        m = -1.0 if mirror else 1.0
        # Maps crop pixel (u, v) to frame pixel; u runs backwards for a mirrored crop.
        matrix = np.array(
            [
                [m * k * cos, -k * sin, rect.cx - half * (m * k * cos - k * sin)],
                [m * k * sin, k * cos, rect.cy - half * (m * k * sin + k * cos)],
            ]
        )
        # Same sampling as MediaPipe's ImageToTensorCalculator (bilinear, replicated border).
        crop = cv2.warpAffine(
            image,
            matrix,
            (MODEL_INPUT, MODEL_INPUT),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        scale = (1.0, 1.0, 1.0) if gains is None else gains
        if crop.ndim == 2:
            # Cropping one channel and widening afterwards costs a third of cropping RGB, and
            # scaling the one channel before merging costs a third of scaling RGB.
            grey = crop.astype(np.float32)
            tensor = cv2.merge([grey * (g / 255.0) for g in scale])[None]
        else:
            # cv2.multiply with a per-channel scalar is much faster than numpy broadcasting.
            tensor = cv2.multiply(crop.astype(np.float32), tuple(g / 255.0 for g in scale))[None]
        outputs = self.runner.run(tensor)
        raw = outputs["Identity"].reshape(NUM_LANDMARKS, 3)
        presence = float(outputs["Identity_1"].reshape(-1)[0])
        u = (raw[:, 0] / MODEL_INPUT - 0.5) * rect.side * m
        v = (raw[:, 1] / MODEL_INPUT - 0.5) * rect.side
        points = np.empty((NUM_LANDMARKS, 3), dtype=np.float64)
        points[:, 0] = rect.cx + u * cos - v * sin
        points[:, 1] = rect.cy + u * sin + v * cos
        points[:, 2] = raw[:, 2] / MODEL_INPUT / _Z_NORMALISATION * rect.side
        return points, presence


class InfraredHandExtractor(LandmarkExtractor):
    """Hand landmarks for near-infrared frames, from a crop around the brightest region.

    See the module documentation for the method. Works on grayscale and colour frames; on
    colour frames the bright-region heuristic rarely fits, and the frame then usually comes out
    as having no hand.

    Args:
        threshold: Intensity over which a blurred pixel belongs to the bright region.
        blur: Gaussian kernel size (pixels of the frame scaled to 320 wide) before thresholding.
        min_area: Smallest bright region, as a share of the frame, taken for a hand.
        search_gate: Lite-model presence under which a crop is dropped without running the
            full model on it.
        tries: Crops tried in order (default :data:`DEFAULT_TRIES`).
        rescue: ``(min_presence, scale, shift)``: when no crop is accepted but the best full
            model presence reached ``min_presence``, one more crop is made from that try's
            landmarks with this scale and shift (see :func:`landmarks_rect`); None disables.
            It recovers a share of the hard sideways fists.
        max_calls: Most landmark-model runs spent on one frame (2 per try, 1 per direct try
            and 1 for the rescue).
        **kwargs: ``tracking``, ``min_confidence``, ``pixel_aspect`` (see
            :class:`~hand_gesture_recognition.extractor.LandmarkExtractor`).

    Raises:
        InputError: For settings out of range.
    """

    name = "infrared"

    def __init__(
        self,
        *,
        threshold: int = 90,
        blur: int = 3,
        min_area: float = 0.002,
        search_gate: float = 0.1,
        tries: tuple[CropTry, ...] | None = None,
        rescue: tuple[float, float, float] | None = (0.3, 2.0, -0.2),
        max_calls: int = 14,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not 0 <= threshold <= 255:
            raise InputError(f"threshold must be in [0, 255], got {threshold}")
        if not 0.0 <= min_area < 1.0:
            raise InputError(f"min_area must be in [0, 1), got {min_area}")
        self.threshold = int(threshold)
        self.blur = int(blur)
        self.min_area = float(min_area)
        self.search_gate = float(search_gate)
        self.tries = tuple(DEFAULT_TRIES if tries is None else tries)
        self.rescue = None if rescue is None else tuple(float(x) for x in rescue)
        if max_calls < 2:
            raise InputError(f"max_calls must be at least 2, got {max_calls}")
        self.max_calls = int(max_calls)
        for attempt in self.tries:
            if attempt.anchor not in ("region", "hand") or attempt.tone not in _TONES:
                raise InputError(f"unknown crop setting {attempt}")
        self._models: dict[str, _Model] = {}
        # Tracking state: last landmarks (pixels), their frame's shape, mirroring, tone gains.
        self._previous: tuple | None = None
        #: Landmark-model runs so far, and which crop found the last hand (index into
        #: ``tries``; -1 for the tracked crop, None when no hand was found), for benchmarks.
        self.model_calls = 0
        self.last_try: int | None = None

    def _model(self, variant: str) -> _Model:
        if variant not in self._models:
            self._models[variant] = _Model(variant)
        return self._models[variant]

    def _full(
        self, image: np.ndarray, rect: Rect, mirror: bool, gains: tuple | None
    ) -> tuple[np.ndarray, float]:
        self.model_calls += 1
        return self._model("full")(image, rect, mirror, gains)

    def process(self, image: np.ndarray) -> HandResult:
        """Finds the hand in one frame (see :meth:`LandmarkExtractor.process`).

        Raises:
            InputError: For a frame that is not a non-empty uint8 grayscale or BGR image.
        """
        import cv2

        check_image(image)
        self.last_try = None
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        pixel_aspect = (
            pixel_aspect_for(image.shape) if self.pixel_aspect is None else self.pixel_aspect
        )
        corrected = correct_aspect(image, pixel_aspect)
        height, width = corrected.shape[:2]
        aspect = height / width
        colour = None
        if corrected.ndim == 2:
            gray = corrected
        elif is_grayscale(corrected):
            gray = np.ascontiguousarray(corrected[:, :, 0])
        else:
            four = corrected.shape[2] == 4
            gray = cv2.cvtColor(corrected, cv2.COLOR_BGRA2GRAY if four else cv2.COLOR_BGR2GRAY)
            colour = cv2.cvtColor(corrected, cv2.COLOR_BGRA2RGB if four else cv2.COLOR_BGR2RGB)
        source = gray if colour is None else colour

        found = None
        if self.tracking and self._previous is not None and self._previous[1] == (height, width):
            points, _, mirror, gains = self._previous
            landmarks, presence = self._full(source, landmarks_rect(points), mirror, gains)
            if presence >= self.min_confidence:
                found = (landmarks, presence, mirror, gains)
                self.last_try = -1
        if found is None:
            found = self._search(gray, source, colour is None)
        if found is None:
            self._previous = None
            return HandResult(None, 0.0, aspect)
        landmarks, presence = found[:2]
        self._previous = (landmarks, (height, width), *found[2:])
        scaled = landmarks / np.array([width, height, width])
        return HandResult(scaled.astype(np.float32), float(presence), aspect)

    def _search(self, gray: np.ndarray, source: np.ndarray, grayscale: bool) -> tuple | None:
        """Tries the crops in order; returns (landmarks, presence, mirror, gains) or None."""
        region = find_hand_region(
            gray, threshold=self.threshold, blur=self.blur, min_area=self.min_area
        )
        if region is None:
            return None
        lite = self._model("lite")
        seen: set[tuple] = set()
        best: tuple = (0.0,)
        budget = self.model_calls + self.max_calls - (1 if self.rescue else 0)
        for index, attempt in enumerate(self.tries):
            if self.model_calls + (1 if attempt.direct else 2) > budget:
                break
            gains = _TONES[attempt.tone] if grayscale else None
            rect = region_rect(region, attempt)
            key = (rect, gains, attempt.mirror, attempt.direct)
            if key in seen:
                continue
            seen.add(key)
            if attempt.direct:
                landmarks, presence = self._full(source, rect, attempt.mirror, gains)
            else:
                # The cheap lite model screens the crop and places the final one.
                self.model_calls += 1
                rough, presence = lite(source, rect, attempt.mirror, gains)
                if presence < self.search_gate:
                    continue
                landmarks, presence = self._full(
                    source, landmarks_rect(rough), attempt.mirror, gains
                )
            if presence >= self.min_confidence:
                self.last_try = index
                return landmarks, presence, attempt.mirror, gains
            if presence > best[0]:
                best = (presence, landmarks, attempt.mirror, gains)
        if self.rescue and best[0] >= self.rescue[0]:
            _, landmarks, mirror, gains = best
            rect = landmarks_rect(landmarks, scale=self.rescue[1], shift=self.rescue[2])
            landmarks, presence = self._full(source, rect, mirror, gains)
            if presence >= self.min_confidence:
                self.last_try = len(self.tries)
                return landmarks, presence, mirror, gains
        return None

    def process_whole(self, image: np.ndarray, sides: tuple[float, ...] = (1.0, 1.3)) -> HandResult:
        """Runs the full landmark model on the whole image, for photos the hand fills.

        A close-up photo of a hand is already the crop the landmark model wants, but the palm
        detector, which expects a hand with room around it, often misses it. The image's
        centre is cropped at each of ``sides`` times its longer side; the most hand-like
        crop, if the model accepts it, is re-cropped from its landmarks (MediaPipe's tracking
        step) and read once more. No tracking state is kept.

        Args:
            image: A BGR or grayscale uint8 image with square pixels.
            sides: Crop sides relative to the image's longer side.

        Returns:
            The landmarks, or a result without a hand.

        Raises:
            InputError: For a frame that is not a non-empty uint8 image.
        """
        check_image(image)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        rgb = to_rgb(image)
        height, width = rgb.shape[:2]
        best: tuple[float, np.ndarray | None] = (0.0, None)
        for side in sides:
            rect = Rect((width - 1) / 2, (height - 1) / 2, max(height, width) * side, 0.0)
            landmarks, presence = self._full(rgb, rect, False, None)
            if presence > best[0]:
                best = (presence, landmarks)
        presence, landmarks = best
        if landmarks is None or presence < self.min_confidence:
            return HandResult(None, 0.0, height / width)
        refined, refined_presence = self._full(rgb, landmarks_rect(landmarks), False, None)
        if refined_presence >= presence:
            landmarks, presence = refined, refined_presence
        scaled = landmarks / np.array([width, height, width])
        return HandResult(scaled.astype(np.float32), float(presence), height / width)

    def reset(self) -> None:
        """Forgets the previous frame's hand."""
        self._previous = None

    def close(self) -> None:
        """Drops the interpreters (they are re-created on the next frame)."""
        self._models.clear()
        self._previous = None

    def settings(self) -> dict[str, Any]:
        """See :meth:`LandmarkExtractor.settings`."""
        return {
            **super().settings(),
            "threshold": self.threshold,
            "blur": self.blur,
            "min_area": self.min_area,
            "search_gate": self.search_gate,
            "tries": [asdict(attempt) for attempt in self.tries],
            "rescue": None if self.rescue is None else list(self.rescue),
            "max_calls": self.max_calls,
            "models": ["hand_landmark_lite", "hand_landmark_full"],
        }
