"""Landmark extraction on a Ray cluster: the ``ray`` engine of ``hand-gesture extract``.

A fixed pool of Ray actors (:class:`ray.util.ActorPool`), each building one extractor when it
starts and keeping it, runs over blocks of frames that the driver lists. Each block holds up to
``batch_size`` frames of one recording; in tracking mode a block is a whole recording, so that
one actor sees its frames in order. The pool keeps one block in flight per actor (the
back-pressure: results never pile up in the driver), and the driver gathers the results per
recording and hands each finished recording to
:func:`hand_gesture_recognition.landmarks.extract_landmarks`, which keeps it for resuming and in
the end writes the landmark file, atomically, exactly as it does for its local worker processes.

Ray core's actors rather than Ray Data's ``map_batches``: measured here (2 cores), a Ray Data
actor pool took 22 s to answer its first block with actors that do nothing (each actor imports
Ray Data, pandas and Arrow), against 4.4 s for two core actors to import MediaPipe and load its
models; that start-up alone put the engine at 0.19x the local one on the sample. Ray itself does
the fault tolerance: an actor that dies is restarted (``max_restarts=-1``) and the block it had
is sent again (``max_task_retries=-1``). Results carry their recording and frame index, so their
arrival order does not matter.

Frames are read by the actors from the paths the driver lists, so the data must be on a
filesystem that every node mounts at the same path. Ray is an optional dependency (the
``cluster`` extra); it is imported only when this engine runs.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Recording
from .errors import InputError
from .extractor import LEAP_FRAME_SHAPE, NUM_LANDMARKS, HandResult
from .landmark_file import LandmarkTable
from .landmarks import extract_frames, make_extractor, recording_table

DEFAULT_BATCH_SIZE = 32
#: Seconds to wait for a cluster's address to answer before giving up.
CONNECT_TIMEOUT_S = 10.0
#: Fault injection for tests: ``<marker file>:<frames>`` makes the first actor that has done
#: that many frames, while the marker file does not exist yet, create it and exit at once.
FAULT_ENV = "HAND_GESTURE_RAY_FAULT"

# What an actor found for each frame of a block.
_OK, _UNREADABLE, _MISSING = 0, 1, 2


def import_ray():
    """Imports Ray, or says which extra brings it.

    Raises:
        InputError: If Ray is not installed.
    """
    # Nothing here reaches off this machine: no usage statistics. A driver run by `uv run`
    # would otherwise have Ray start every worker through `uv run` with this folder packed up
    # as its working directory; the workers use the Python environment they were started in.
    # Ray reads both settings when it is first imported, so they are set before.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
        import ray.util
    except ImportError:
        raise InputError(
            "--engine ray needs Ray, which is not installed: install the 'cluster' extra "
            "(pip install 'hand-gesture-recognition[cluster]' or uv sync --extra cluster)"
        ) from None
    return ray


@dataclass(frozen=True)
class RayEngine:
    """Where and how wide to run the extraction on Ray.

    Attributes:
        address: A running cluster to join (``HOST:PORT`` of its head, ``ray://HOST:PORT``
            for Ray Client, or ``auto`` for the cluster this process runs in). None joins the
            cluster named by ``RAY_ADDRESS`` if that is set, else starts Ray on this machine
            with one CPU per core.
        actors: Actors, one extractor and one CPU each (None: one per CPU of the cluster).
        batch_size: Frames per block, the unit that is sent to an actor and retried.
    """

    address: str | None = None
    actors: int | None = None
    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self) -> None:
        if self.actors is not None and self.actors < 1:
            raise InputError(f"--actors must be at least 1, got {self.actors}")
        if self.batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {self.batch_size}")

    @contextlib.contextmanager
    def session(self) -> Iterator[Callable[..., None]]:
        """Joins or starts the cluster, and leaves it afterwards.

        Yields:
            The engine for :func:`~.landmarks.extract_landmarks`, bound to the cluster.

        Raises:
            InputError: If Ray is missing, the cluster cannot be reached, or it has fewer CPUs
                than ``actors`` (when started here).
        """
        with ray_session(self.address) as (ray, started_here):
            cpus = int(ray.cluster_resources().get("CPU", 0))
            if started_here and self.actors and self.actors > cpus:
                raise InputError(
                    f"--actors {self.actors}: this machine gives Ray {cpus} CPUs, one per actor"
                )
            yield functools.partial(self._run, ray, self.actors or max(1, cpus))

    def _run(
        self,
        ray: Any,
        actors: int,
        recordings: list[Recording],
        extractor: str,
        options: dict[str, Any],
        keep: Callable[..., None],
        bar: Any,
    ) -> None:
        blocks = _blocks(recordings, self.batch_size, tracking=bool(options["tracking"]))
        remote = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(FrameExtractor)
        pool = [remote.remote(extractor, options) for _ in range(min(actors, len(blocks)))]
        try:
            results = ray.util.ActorPool(pool).map_unordered(
                lambda actor, block: actor.extract.remote(block), blocks
            )
            _gather(results, recordings, keep, bar)
        finally:
            for actor in pool:
                ray.kill(actor)


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[tuple[Any, bool]]:
    """Joins a Ray cluster or starts one on this machine, and leaves it afterwards.

    Args:
        address: See :attr:`RayEngine.address`.

    Yields:
        The ``ray`` module and whether the cluster was started here (it stops on exit).

    Raises:
        InputError: If Ray is missing or the cluster cannot be reached.
    """
    ray = import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    common: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if os.environ.get(FAULT_ENV):
        # Only then: a runtime environment of its own keeps Ray from handing the actors the
        # worker processes it starts ahead of time, which saves each actor seconds.
        common["runtime_env"] = {"env_vars": {FAULT_ENV: os.environ[FAULT_ENV]}}
    try:
        if address is None:
            ray.init(
                address="local",
                num_cpus=os.cpu_count() or 1,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                **common,
            )
        else:
            if address != "auto":
                check_reachable(address)
            ray.init(address=address, **common)
    except InputError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure to join means "no usable cluster".
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = f"--ray-address {address}" if address else "starting Ray on this machine"
        raise InputError(f"{where}: could not join the Ray cluster ({reason})") from None
    try:
        yield ray, address is None
    finally:
        ray.shutdown()


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Checks that something answers at a cluster address, within ``timeout`` seconds.

    Raises:
        InputError: If the address is not ``[ray://]HOST:PORT`` or nothing answers there.
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--ray-address {address}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputError(
            f"--ray-address {address}: no Ray cluster answers there within {timeout:g} s ({reason})"
        ) from None


def _blocks(recordings: list[Recording], batch_size: int, *, tracking: bool) -> list[dict]:
    """The input blocks: ``recording`` (its index), ``frame`` (indices in it) and ``path``."""
    blocks = []
    for number, recording in enumerate(recordings):
        paths = [os.path.abspath(frame) for frame in recording.frames]
        step = len(paths) if tracking else batch_size
        for start in range(0, len(paths), step):
            chunk = paths[start : start + step]
            blocks.append(
                {
                    "recording": np.full(len(chunk), number, np.int32),
                    "frame": np.arange(start, start + len(chunk), dtype=np.int64),
                    "path": np.array(chunk),
                }
            )
    return blocks


def _gather(batches, recordings: list[Recording], keep: Callable[..., None], bar: Any) -> None:
    """Collects the actors' results per recording; hands each finished one to ``keep``."""
    found: dict[int, dict[int, HandResult | None]] = {n: {} for n in range(len(recordings))}
    for batch in batches:
        finished = set()
        for number, frame, status, detected, points, score, aspect, node in zip(
            batch["recording"].tolist(),
            batch["frame"].tolist(),
            batch["status"].tolist(),
            batch["detected"].tolist(),
            batch["landmarks"],
            batch["score"].tolist(),
            batch["aspect"].tolist(),
            batch["node"].tolist(),
            strict=True,
        ):
            if status == _MISSING:
                path = os.path.abspath(recordings[number].frames[frame])
                raise InputError(
                    f"{path}: the Ray worker on {node} cannot read this frame; the data must be "
                    "on a filesystem that every node mounts at the same path"
                )
            if number not in found:
                continue  # A block retried after its first result arrived: already kept.
            found[number][frame] = (
                None
                if status == _UNREADABLE
                else HandResult(np.asarray(points, np.float32) if detected else None, score, aspect)
            )
            finished.add(number)
        bar.update(len(batch["frame"]))
        for number in sorted(finished):
            recording = recordings[number]
            if len(found[number]) == len(recording.frames):
                keep(recording, *_recording_result(recording, found.pop(number)), advance=False)
    if found:
        missing = ", ".join(recordings[n].sequence_id for n in sorted(found)[:3])
        raise RuntimeError(f"Ray returned no results for some frames of {missing}")


def _recording_result(
    recording: Recording, results: dict[int, HandResult | None]
) -> tuple[LandmarkTable, list[str]]:
    rows = []
    unreadable = []
    for index in sorted(results):
        frame = recording.frames[index]
        if results[index] is None:
            unreadable.append(str(frame))
        else:
            rows.append((index, os.path.abspath(frame), results[index]))
    return recording_table(recording, rows), unreadable


class FrameExtractor:
    """One Ray actor: builds an extractor once and runs it over blocks of frames.

    Args:
        extractor: The extractor's name.
        options: Its options (``tracking``, ``min_confidence``, ``pixel_aspect``).
    """

    def __init__(self, extractor: str, options: dict[str, Any]) -> None:
        self._extractor = make_extractor(extractor, **options)
        # Load the models now, so that a restarted actor is ready before its block is resent.
        for blank in (np.zeros(LEAP_FRAME_SHAPE, np.uint8), np.zeros((64, 64, 3), np.uint8)):
            self._extractor.process(blank)
        self._node = socket.gethostname()
        self._frames_done = 0
        self._fault = _Fault.from_env()

    def extract(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Extracts the landmarks of one block (consecutive frames of one recording)."""
        paths = [str(p) for p in batch["path"]]
        n = len(paths)
        rows, _ = extract_frames(self._extractor, paths)
        status = np.full(n, _UNREADABLE, dtype=np.int8)
        detected = np.zeros(n, dtype=bool)
        landmarks = np.full((n, NUM_LANDMARKS, 3), np.nan, dtype=np.float32)
        score = np.zeros(n, dtype=np.float32)
        aspect = np.ones(n, dtype=np.float32)
        for position, _, result in rows:
            status[position] = _OK
            detected[position] = result.detected
            if result.detected:
                landmarks[position] = result.landmarks
            score[position] = result.score
            aspect[position] = result.aspect
        for position in np.flatnonzero(status == _UNREADABLE):
            if not os.access(paths[position], os.R_OK):
                status[position] = _MISSING
        self._frames_done += n
        if self._fault is not None:
            self._fault.maybe_exit(self._frames_done)
        return {
            "recording": batch["recording"],
            "frame": batch["frame"],
            "status": status,
            "detected": detected,
            "landmarks": landmarks,
            "score": score,
            "aspect": aspect,
            "node": np.array([self._node] * n),
        }


@dataclass(frozen=True)
class _Fault:
    """The test hook of :data:`FAULT_ENV`: one actor dies once, mid-run."""

    marker: Path
    after_frames: int

    @classmethod
    def from_env(cls) -> _Fault | None:
        spec = os.environ.get(FAULT_ENV)
        if not spec:
            return None
        marker, _, frames = spec.rpartition(":")
        return cls(Path(marker), int(frames))

    def maybe_exit(self, frames_done: int) -> None:
        if frames_done < self.after_frames:
            return
        try:
            self.marker.touch(exist_ok=False)
        except FileExistsError:
            return
        os._exit(1)  # Dies with its block's results unsent, as a crashed node would.
