"""The Ray engine of ``hand-gesture extract``, on a real Ray cluster started on 127.0.0.1.

The cluster is one head node with 2 CPUs, started with ``ray start`` once for this module and
stopped afterwards by ending the processes it started (never ``ray stop``, which would end every
Ray process on the machine). Nothing here reaches an address other than 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from hand_gesture_recognition import landmark_file as lf
from hand_gesture_recognition import landmarks as lm

BIN = Path(sys.executable).parent
GESTURES = ("01_palm", "03_fist", "07_ok")
FRAMES = 40
CORRUPT = "frame_00_07_9999.png"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The cluster and its drivers share a token of their own, whatever ~/.ray holds.
TOKEN = secrets.token_hex(32)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(
        RAY_USAGE_STATS_ENABLED="0",
        RAY_ENABLE_UV_RUN_RUNTIME_ENV="0",
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN=TOKEN,
        # A one-node cluster on the loopback address: Ray replaces 127.0.0.1 in
        # --node-ip-address with the machine's own address unless multi-node is off.
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
        **extra,
    )
    return env


def _extract(*args: str, env: dict[str, str] | None = None, timeout: float = 600):
    return subprocess.run(
        [str(BIN / "hand-gesture"), "extract", *map(str, args)],
        capture_output=True,
        text=True,
        env=env or _env(),
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def tree(leap_gesture_dirs, tmp_path_factory) -> Path:
    """Three real recordings of the sample, their first 40 frames each, and one corrupt frame."""
    root = tmp_path_factory.mktemp("ray-data") / "leapGestRecog"
    for gesture in GESTURES:
        folder = root / "00" / gesture
        folder.mkdir(parents=True)
        for frame in sorted(leap_gesture_dirs[gesture].iterdir())[:FRAMES]:
            shutil.copyfile(frame, folder / frame.name)
    (root / "00" / "07_ok" / CORRUPT).write_bytes(b"not an image")
    return root


@pytest.fixture(scope="module")
def local_file(tree, tmp_path_factory) -> Path:
    """The local engine's landmark file of the tree (default extractor)."""
    out = tmp_path_factory.mktemp("local") / "local.npz"
    lm.extract_landmarks(tree, out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def ray_head(ray_head_flag):
    """A Ray head node on 127.0.0.1 with 2 CPUs; yields its address.

    The other xdist worker's heavy tests wait for ``ray_head_flag`` (see ``conftest.py``).
    """
    temp_dir = Path(tempfile.mkdtemp(prefix="hgr-ray-", dir="/tmp"))  # Short socket paths.
    port = _free_port()
    command = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--object-store-memory={256 * 2**20}",
        f"--temp-dir={temp_dir}",
    ]
    groups = []
    try:
        try:
            # Ray gives its agents 15 s and its raylet 30 s to start, fixed. On a slow machine
            # that can be too short when other work runs beside it (the raylet took 48 s on one
            # whose other test worker was training), so that work waits for `ray_head_flag`,
            # and a failed start is tried again.
            for attempt in range(3):
                # Its own session, so that all of the cluster's processes share one group id.
                starter = subprocess.Popen(
                    command,
                    env=_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    start_new_session=True,
                )
                groups.append(starter.pid)
                output, _ = starter.communicate(timeout=180)
                # `ray start` gives up after its fixed wait and leaves the processes running;
                # the node may still register, which a driver that connects will see.
                if starter.returncode == 0 or _serves_a_driver(f"127.0.0.1:{port}"):
                    break
                _end_cluster(starter.pid, temp_dir)
                if attempt == 2:
                    pytest.fail(f"ray start failed:\n{output[-3000:]}")
                time.sleep(20)  # Let a burst of other work pass.
        finally:
            ray_head_flag.touch()
        yield f"127.0.0.1:{port}"
    finally:
        for group in groups:
            _end_cluster(group, temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _serves_a_driver(address: str) -> bool:
    """Whether a driver can connect to the cluster at ``address`` and see one live node."""
    probe = (
        "import ray\n"
        f"ray.init(address={address!r}, logging_level='ERROR')\n"
        "print('alive', sum(node['Alive'] for node in ray.nodes()))\n"
    )
    try:
        done = subprocess.run(
            [str(BIN / "python"), "-c", probe],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=180,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0 and "alive 1" in done.stdout


def _end_cluster(group: int, temp_dir: Path) -> None:
    """Ends the processes this module's cluster started: its process group, then stragglers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, sig)
        # Workers may have moved to process groups of their own; they name the session folder.
        for pid in _pids_mentioning(str(temp_dir)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        time.sleep(1.0)


def _pids_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if text.encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _assert_same_file(ray_out: Path, local_out: Path) -> None:
    ray, local = lf.LandmarkTable.load(ray_out), lf.LandmarkTable.load(local_out)
    assert list(ray.path) == list(local.path)  # Same frames, same order, none twice.
    assert list(ray.sequence) == list(local.sequence)
    np.testing.assert_array_equal(ray.frame, local.frame)
    assert (ray.detected == local.detected).mean() >= 0.99
    both = ray.detected & local.detected
    assert both.sum() > 0.5 * len(ray)
    np.testing.assert_allclose(ray.landmarks[both], local.landmarks[both], atol=1e-3)
    np.testing.assert_allclose(ray.aspect, local.aspect)
    assert ray.meta == local.meta  # Settings, cache key, skipped frames, data folder.


def test_ray_engine_resumes_and_writes_the_local_engines_file(
    ray_head, tree, local_file, tmp_path, monkeypatch
):
    out = tmp_path / "ray.npz"
    # A local run interrupted after its first recording leaves that recording's part behind.
    real = lm._extract_recording
    calls = []

    def interrupted_after_one(recording):
        calls.append(recording.sequence_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(recording)

    monkeypatch.setattr(lm, "_extract_recording", interrupted_after_one)
    with pytest.raises(KeyboardInterrupt):
        lm.extract_landmarks(tree, out, workers=1, progress=False)
    assert not out.exists()

    result = _extract(
        tree, "--out", out, "--engine", "ray", "--ray-address", ray_head, "--batch-size", "8"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    total = len(GESTURES) * FRAMES + 1
    # The progress bar starts from the resumed recording's frames and counts every frame.
    assert f" {FRAMES}/{total} [" in result.stderr
    assert f" {total}/{total} [" in result.stderr
    assert f"wrote {out}: {total - 1} frames" in result.stderr
    assert f"skipped 1 unreadable image(s): {tree / '00' / '07_ok' / CORRUPT}" in result.stderr
    _assert_same_file(out, local_file)
    assert not out.with_name(out.name + ".parts").exists()

    again = _extract(tree, "--out", out, "--engine", "ray", "--ray-address", ray_head)
    assert again.returncode == 0 and f"reused {out}" in again.stderr


def test_an_actor_that_dies_mid_run_is_replaced_and_nothing_is_lost(
    ray_head, tree, local_file, tmp_path
):
    marker = tmp_path / "died"
    out = tmp_path / "ray.npz"
    result = _extract(
        tree,
        "--out",
        out,
        "--engine",
        "ray",
        "--ray-address",
        ray_head,
        "--actors",
        "2",
        "--batch-size",
        "8",
        env=_env(HAND_GESTURE_RAY_FAULT=f"{marker}:16"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert marker.exists()  # One actor did exit with a block unanswered.
    _assert_same_file(out, local_file)


def test_workers_that_cannot_read_the_data_are_named(ray_head, tree, tmp_path):
    """The driver sees DATA on a filesystem of its own (a tmpfs in its mount namespace)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode:
        pytest.skip("needs unshare -m (root) to give the driver a filesystem of its own")
    private = tmp_path / "private"
    private.mkdir()
    out = tmp_path / "ray.npz"
    script = (
        f"mount -t tmpfs tmpfs {private} && cp -r {tree} {private}/data && "
        f"exec {BIN / 'hand-gesture'} extract {private}/data --out {out} --engine ray "
        f"--ray-address {ray_head}"
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1
    message = errors[0][errors[0].index("hand-gesture extract: error:") :]
    assert message.startswith(f"hand-gesture extract: error: {private}/data/00/")
    assert "cannot read this frame" in message and "every node" in message
    assert not out.exists()


def test_an_unreachable_address_fails_in_one_line(tree, tmp_path):
    port = _free_port()  # Nothing listens there.
    out = tmp_path / "x.npz"
    result = _extract(
        tree, "--out", out, "--engine", "ray", "--ray-address", f"127.0.0.1:{port}", timeout=120
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if "error" in line]
    assert lines == [
        f"hand-gesture extract: error: --ray-address 127.0.0.1:{port}: no Ray cluster answers "
        "there within 10 s (Connection refused)"
    ]
    assert not out.exists()


def test_bad_engine_options(tree, tmp_path):
    out = tmp_path / "x.npz"
    zero = _extract(tree, "--out", out, "--engine", "ray", "--actors", "0")
    assert zero.returncode == 2 and "--actors: expected a number of at least 1" in zero.stderr
    local = _extract(tree, "--out", out, "--ray-address", "127.0.0.1:1")
    assert local.returncode == 2
    assert local.stderr.strip() == "hand-gesture extract: error: --ray-address needs --engine ray"
    bad = _extract(tree, "--out", out, "--engine", "ray", "--ray-address", "nowhere")
    assert bad.returncode == 2 and "expected HOST:PORT" in bad.stderr
    assert not out.exists()


def test_without_ray_installed_the_extra_is_named(tree, tmp_path):
    # A package named ray ahead of site-packages that fails to import, as a missing one does.
    blocker = tmp_path / "no-ray" / "ray"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    out = tmp_path / "x.npz"
    result = _extract(
        tree, "--out", out, "--engine", "ray", env=_env(PYTHONPATH=str(blocker.parent))
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hand-gesture extract: error: --engine ray needs Ray, which is not installed: install "
        "the 'cluster' extra (pip install 'hand-gesture-recognition[cluster]' or "
        "uv sync --extra cluster)"
    ]
    assert not out.exists()


def test_tracking_sends_each_recording_whole_to_one_actor(ray_head, tree, tmp_path):
    local = tmp_path / "local.npz"
    lm.extract_landmarks(tree, local, workers=1, tracking=True, progress=False)
    out = tmp_path / "ray.npz"
    result = _extract(
        tree, "--out", out, "--engine", "ray", "--ray-address", ray_head, "--tracking"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Tracking carries each frame's hand into the next, so equal files mean equal frame order.
    _assert_same_file(out, local)
    assert lf.LandmarkTable.load(out).meta["extractor"]["tracking"] is True
