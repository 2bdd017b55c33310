"""Shared fixtures: the real sample data beside the repository, and artifacts built from it.

The sample data lives in ``../shared/data`` (never copied into the repository). When it is
missing, tests that need it skip on a developer's machine and fail in CI (``CI=true``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Quieter logs from TensorFlow and MediaPipe's C++ code; set before either is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")
# Conversions of .h5-only models are cached here, not in the user's cache.
os.environ["HGR_CACHE_DIR"] = tempfile.mkdtemp(prefix="hgr-test-cache-")


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path_factory, monkeypatch):
    """Landmark caches go to a temporary folder, never the user's cache folder."""
    monkeypatch.setenv("HGR_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "hgr-cache"))


def _require(path: Path) -> Path:
    if not path.exists():
        message = f"sample data not found at {path}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def leap_sample() -> Path:
    """``../shared/data/leapgestrecog-sample``: subject 00, 10 gestures, 130 frames each."""
    return _require(SHARED_DATA / "leapgestrecog-sample")


@pytest.fixture(scope="session")
def leap_gesture_dirs(leap_sample: Path) -> dict[str, Path]:
    """The sample's gesture folders by name."""
    root = leap_sample / "leapGestRecog" / "00"
    return {p.name: p for p in sorted(root.iterdir()) if p.is_dir()}


@pytest.fixture(scope="session")
def webcam_sample() -> Path:
    """``../shared/data/webcam-sample``: RGB webcam frames of peace, stop and thumbs_up."""
    return _require(SHARED_DATA / "webcam-sample")


@pytest.fixture(scope="session")
def webcam_takes(webcam_sample: Path):
    """The webcam sample's stop and thumbs_up cut into takes once per session (do not change it).

    Frames 20-199 of each clip (the hand is in view from frame 18 on), five takes of 36 frames,
    as the notebook cuts them.
    """
    from hand_gesture_recognition.record import folder_takes

    return folder_takes(webcam_sample, 36, gestures=["stop", "thumbs_up"], skip=20)


@pytest.fixture(scope="session")
def hagrid_sample() -> Path:
    """``../shared/data/hagrid-sample``: close-up photos of many people's hands, 40 per class."""
    return _require(SHARED_DATA / "hagrid-sample")


def _shared_root(tmp_path_factory) -> Path:
    """The folder all xdist workers of one run share: the parent of their own temporary folders."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder that ``build`` fills once per test run, shared by the xdist workers.

    The workers of one run share the parent of their own temporary folders: the first to
    take the lock builds, the others wait and read what it built, instead of each extracting
    or training the same thing on the same cores. Tests only read what is built here.
    """
    root = _shared_root(tmp_path_factory)
    folder, built = root / name, root / f"{name}.built"
    with FileLock(root / f"{name}.lock"):
        if not built.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            built.touch()
    return folder


@pytest.fixture(scope="session")
def sample_landmarks(leap_sample: Path, tmp_path_factory) -> Path:
    """Landmarks of the whole infrared sample, extracted once per test run (auto)."""
    from hand_gesture_recognition.landmarks import extract_landmarks

    def extract(folder: Path) -> None:
        extract_landmarks(
            leap_sample, folder / "sample.npz", extractor="auto", workers=2, progress=False
        )

    return _built_once(tmp_path_factory, "landmarks", extract) / "sample.npz"


@pytest.fixture(scope="session")
def trained_model_dir(sample_landmarks: Path, tmp_path_factory) -> Path:
    """A small model trained on the sample's landmarks (time split, a few epochs), once per run."""
    from hand_gesture_recognition.config import PreprocessingConfig, RunConfig, TrainingConfig
    from hand_gesture_recognition.landmark_file import LandmarkTable
    from hand_gesture_recognition.train import train_model

    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=2, feature_mode="canonical"),
        training=TrainingConfig(epochs=30, split="time", seed=7),
    )

    def train(folder: Path) -> None:
        train_model(LandmarkTable.load(sample_landmarks), config, folder / "model", verbose=0)

    return _built_once(tmp_path_factory, "trained", train) / "model"


@pytest.fixture(scope="module")
def app_server(trained_model_dir: Path):
    """The Gradio app on a free localhost port with the session's trained model; closed after."""
    import socket
    import sys

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HGR_MODEL_DIR", str(trained_model_dir))
        patch.delenv("HGR_REPO", raising=False)
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        demo = app.build_demo()
        demo.launch(
            **app.launch_options(),
            prevent_thread_lock=True,
            server_name="127.0.0.1",
            server_port=port,
            quiet=True,
        )
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


#: Files that run first, in this order: the Ray cluster's, then files that train nothing.
FIRST = ("test_cluster.py", "test_config.py", "test_storage.py", "test_landmark_file.py")
#: Then the longest files, longest first (``--durations=0``: 121-235 s each on 2 cores), so
#: that the two workers end together; then the rest, the files with most tests first. Order is
#: set here alone: xdist's own reordering is turned off in ``addopts``.
LONGEST = ("test_train.py", "test_safety.py", "test_model.py", "test_notebook.py")

#: The longest a test outside :data:`FIRST` waits for the Ray head's start to be over.
RAY_HEAD_WAIT_S = 300.0
_RAY_HEAD_TESTS = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config, items):
    """Orders files :data:`FIRST`, :data:`LONGEST`, then by number of tests (on every worker)."""
    rank = {name: i for i, name in enumerate(FIRST + LONGEST)}
    per_file = Counter(item.path.name for item in items)
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), -per_file[item.path.name]))


def pytest_collection_finish(session):
    session.config.stash[_RAY_HEAD_TESTS] = any(
        "ray_head" in getattr(item, "fixturenames", ()) for item in session.items
    )


@pytest.fixture(scope="session")
def ray_head_flag(tmp_path_factory) -> Path:
    """The file ``test_cluster``'s Ray head fixture touches once its start is over, ok or not."""
    return _shared_root(tmp_path_factory) / "ray-head.started"


@pytest.fixture(autouse=True)
def _after_the_ray_head_start(request, ray_head_flag: Path):
    """Under xdist, a test outside :data:`FIRST` waits until the Ray head's start is over.

    Ray gives a starting head fixed deadlines (30 s for its raylet to register). A slow
    2-core machine missed them whenever the other worker was training a model or running the
    notebook, so nothing but light files runs beside the start.
    """
    config = request.config
    waiting = (
        os.environ.get("PYTEST_XDIST_WORKER")
        and config.stash.get(_RAY_HEAD_TESTS, False)
        and request.node.path.name not in FIRST
    )
    if waiting:
        deadline = time.monotonic() + RAY_HEAD_WAIT_S
        while not ray_head_flag.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        config.stash[_RAY_HEAD_TESTS] = False  # Over (or given up on): never wait again.
