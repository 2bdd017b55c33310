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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import EXTRACTORS
from .dataset import Recording, find_recordings
from .errors import InputError
from .extractor import (
    NUM_LANDMARKS,
    HandResult,
    LandmarkExtractor,
    MediaPipeHandsExtractor,
    corner_tiles,
    is_grayscale,
    pad_photo,
    process_state,
    read_image,
    unpad_result,
)
from .infrared import InfraredHandExtractor
from .landmark_file import LandmarkTable
from .storage import check_writable_location, file_fingerprint

#: How close to a tile's inner sides (a share of its side) a hand found in it may come.
TILE_MARGIN = 0.02
#: Live video searches the tiles once this many frames in a row had no hand: more than the
#: gap a window bridges (``PreprocessingConfig.max_gap``, 5 frames).
TILE_SEARCH_AFTER = 6


def _clear_of_inner_edges(
    landmarks: np.ndarray, top: int, left: int, tile: tuple[int, ...], frame: tuple[int, ...]
) -> bool:
    """Whether a hand found in a tile keeps :data:`TILE_MARGIN` from the tile's inner sides.

    A side of the tile inside the frame may cut the hand off; a side on the frame's border
    cuts nothing that the whole frame would show.

    Args:
        landmarks: The hand's landmarks, normalised to the tile.
        top: :func:`corner_tiles`' offset of the frame in the tile (zero or negative).
        left: Likewise for columns.
        tile: The tile's shape.
        frame: The frame's shape.

    Returns:
        True when no landmark is within the margin of an inner side.
    """
    inner_low = np.array([left < 0, top < 0])
    inner_high = np.array([tile[1] - left < frame[1], tile[0] - top < frame[0]])
    xy = landmarks[:, :2]
    too_low = inner_low & (xy < TILE_MARGIN)
    too_high = inner_high & (xy > 1.0 - TILE_MARGIN)
    return not bool((too_low | too_high).any())


class AutoExtractor(LandmarkExtractor):
    """Infrared extraction for grayscale frames, MediaPipe Hands for colour frames.

    Colour frames where MediaPipe Hands finds no hand are tried again, in static mode (photos
    and datasets), in four ways until one finds it: MediaPipe Hands on the photo inside a
    border (:func:`pad_photo`; the palm detector wants room around the hand), the full
    landmark model on the whole photo (a close-up is already the crop it wants), MediaPipe
    Hands on each of four overlapping tiles (:func:`corner_tiles`; a hand far from the camera
    is too small for the palm detector in the whole frame), and the infrared extractor. On 320
    HaGRID close-ups the hand is found in 58 % of photos by MediaPipe Hands alone and in 97 %
    with the first two fallbacks.

    In tracking mode (live video) the photo fallbacks are skipped: on webcam frames the
    infrared one found no hand MediaPipe had missed, and it cost about 50 ms on every frame
    without a hand, which a live stream cannot afford. Once the whole frame has had no hand for
    :data:`TILE_SEARCH_AFTER` frames, every second frame is also searched in one of the tiles,
    the next tile the next time; a hand found in a tile is tracked there until it is lost or
    reaches one of the tile's inner sides, then the whole frame is searched again.
    """

    name = "auto"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._standard = MediaPipeHandsExtractor(**kwargs)
        self._infrared = InfraredHandExtractor(**kwargs)
        # Live video only: its own tracker for the tile, and which tile it tracks in.
        self._zoomed = MediaPipeHandsExtractor(**kwargs)
        self._tile: int | None = None
        self._next_tile = 0
        self._misses = 0

    def process(self, image: np.ndarray) -> HandResult:
        """See :meth:`LandmarkExtractor.process`."""
        if is_grayscale(image):
            return self._infrared.process(image)
        if self.tracking:
            return self._track(image)
        result = self._standard.process(image)
        return result if result.detected else self._photo_fallbacks(image)

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
        result = self._in_tiles(image)
        if result.detected:
            return result
        return self._infrared.process(image)

    def _in_tiles(self, image: np.ndarray) -> HandResult:
        """MediaPipe Hands on each of :func:`corner_tiles` alone.

        Returns:
            The hand found, mapped onto ``image``: of several, one clear of its tile's inner
            sides before one that may be cut off, then the most confident.
        """
        best, best_rank = HandResult(None, 0.0, image.shape[0] / image.shape[1]), None
        for tile, top, left in corner_tiles(image):
            result = self._standard.process(tile)
            if not result.detected:
                continue
            if self.tracking:
                self._standard.reset()  # else it would look for this hand in the next tile
            clear = _clear_of_inner_edges(result.landmarks, top, left, tile.shape, image.shape)
            if best_rank is None or (clear, result.score) > best_rank:
                best = unpad_result(result, image.shape, top, left, tile.shape)
                best_rank = (clear, result.score)
        return best

    def _track(self, image: np.ndarray) -> HandResult:
        """One live frame: the tile a small hand is tracked in, else the whole frame, then a tile.

        A tile is searched only once the whole frame has had no hand for
        :data:`TILE_SEARCH_AFTER` frames (a hand missed for a moment is found again there), and
        then on every second frame, so that frames without a hand cost 1.5 palm detections on
        average rather than two.
        """
        if self._tile is not None:
            result = self._in_tile(image, self._tile)
            if result.detected:
                return result
            self._tile = None
        result = self._standard.process(image)
        self._misses = 0 if result.detected else self._misses + 1
        if result.detected or self._misses < TILE_SEARCH_AFTER or self._misses % 2:
            return result
        tile, self._next_tile = self._next_tile, (self._next_tile + 1) % 4
        result = self._in_tile(image, tile)
        if result.detected:
            self._tile = tile
        return result

    def _in_tile(self, image: np.ndarray, index: int) -> HandResult:
        """The tile tracker on tile ``index`` of :func:`corner_tiles`, mapped onto ``image``.

        A hand that reaches one of the tile's inner sides counts as not found: it may be cut
        off (it came closer, or is moving into another tile), and the whole frame or the next
        tiles are the place to look for it.
        """
        tile, top, left = corner_tiles(image)[index]
        result = self._zoomed.process(tile)
        clear = result.detected and _clear_of_inner_edges(
            result.landmarks, top, left, tile.shape, image.shape
        )
        if result.detected and not clear:
            # Resetting costs about a palm detection: only where the tracker still has a hand.
            self._zoomed.reset()
            result = HandResult(None, 0.0, result.aspect)
        return unpad_result(result, image.shape, top, left, tile.shape)

    def reset(self) -> None:
        """See :meth:`LandmarkExtractor.reset`."""
        self._standard.reset()
        self._infrared.reset()
        self._zoomed.reset()
        self._tile = None
        self._next_tile = 0
        self._misses = 0

    def close(self) -> None:
        """See :meth:`LandmarkExtractor.close`."""
        self._standard.close()
        self._infrared.close()
        self._zoomed.close()

    def settings(self) -> dict[str, Any]:
        """See :meth:`LandmarkExtractor.settings`; includes both extractors' own settings."""
        return {
            **super().settings(),
            "standard": self._standard.settings(),
            "infrared": self._infrared.settings(),
            "photo_fallbacks": ["pad_photo", "whole_image", "corner_tiles"],
            "video_tiles": True,
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
        return InfraredHandExtractor(**kwargs)
    if name == "auto":
        return AutoExtractor(**kwargs)
    raise InputError(f"--extractor must be one of {', '.join(EXTRACTORS)}; got {name!r}")


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
    """Reads one frame as the extractors expect it (:func:`read_image`); None when unreadable."""
    image = read_image(path)
    # An image smaller than MIN_IMAGE_SIDE holds no hand; it counts like a corrupt frame.
    if image is None or min(image.shape[:2]) < MIN_IMAGE_SIDE:
        return None
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


def results_table(
    results: Sequence[HandResult],
    *,
    subject: str,
    gesture: str,
    sequence: str,
    frames: Sequence[int],
    paths: Sequence[str],
) -> LandmarkTable:
    """Builds one recording's table from the extractor's results, one per frame in order.

    Args:
        results: The results (frames without a hand give NaN landmarks).
        subject: The recording's subject.
        gesture: Its gesture.
        sequence: Its sequence id.
        frames: Each result's frame index.
        paths: Each result's image path (empty for frames that are no file).
    """
    n = len(results)
    landmarks = np.full((n, NUM_LANDMARKS, 3), np.nan, dtype=np.float32)
    for i, result in enumerate(results):
        if result.detected:
            landmarks[i] = result.landmarks
    return LandmarkTable(
        landmarks=landmarks,
        detected=np.array([r.detected for r in results], dtype=bool),
        score=np.array([r.score for r in results], dtype=np.float32),
        subject=np.array([subject] * n, dtype=str),
        gesture=np.array([gesture] * n, dtype=str),
        sequence=np.array([sequence] * n, dtype=str),
        frame=np.array(frames, dtype=np.int64),
        path=np.array(paths, dtype=str),
        aspect=np.array([r.aspect for r in results], dtype=np.float32),
    )


def recording_table(
    recording: Recording, rows: Sequence[tuple[int, str, HandResult]]
) -> LandmarkTable:
    """Builds one recording's table from ``(frame index, path, result)`` rows in frame order."""
    return results_table(
        [r for _, _, r in rows],
        subject=recording.subject,
        gesture=recording.gesture,
        sequence=recording.sequence_id,
        frames=[i for i, _, _ in rows],
        paths=[p for _, p, _ in rows],
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
    can_fork = os.name == "posix" and not process_state["runtime_started"]
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
        _remove_parts(parts_root, parts_dir, made_root)  # Nothing there to resume.
        raise InputError(f"{data_dir}: no readable frames found")
    meta = {
        "extractor": settings,
        "key": key,
        "unreadable": sorted(unreadable),
        "data_dir": str(data_dir),
    }
    table = LandmarkTable.concatenate(ordered, meta)
    table.save(out)
    _remove_parts(parts_root, parts_dir, made_root)
    return ExtractionSummary(
        out, len(table), int(table.detected.sum()), sorted(unreadable), reused=False
    )


def _remove_parts(parts_root: Path, parts_dir: Path, made_root: bool) -> None:
    """Removes this extraction's parts, and the parts folder if it made it and it is empty."""
    shutil.rmtree(parts_dir, ignore_errors=True)
    leftover = {p.name for p in parts_root.iterdir()} if parts_root.is_dir() else set()
    if leftover <= {PARTS_MARKER} and (made_root or PARTS_MARKER in leftover):
        (parts_root / PARTS_MARKER).unlink(missing_ok=True)
        parts_root.rmdir()
