"""The README's guarantees held under faults: bad input, overwrites, interruption, crashes.

Each test is one case a reviewer tries first: it gives one line naming the file or argument
(exit 2, or 130 for Ctrl-C), and every file the user had stays byte-identical. The files are
real, and the signal cases send real signals to real ``hand-gesture`` processes.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import make_table

from hand_gesture_recognition import landmark_file as lf
from hand_gesture_recognition import landmarks as lm
from hand_gesture_recognition.cli import main
from hand_gesture_recognition.config import RunConfig
from hand_gesture_recognition.dataset import find_recordings
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.model import build_model, load_model, read_mapping, save_model

REPO = Path(__file__).resolve().parents[1]
#: How long an interrupted or orphaned run may take to end (generous: CI shares its cores).
END_WITHIN_S = 30


def digest(path: Path) -> dict[str, str]:
    """SHA-256 of a file, or of every file below a folder."""
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def one_line_error(capsys, argv, match):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and match in errors[0], err
    assert "Traceback" not in err, err
    return errors[0]


def usage_error(capsys, argv, match):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and match in err and "Traceback" not in err, err


@pytest.fixture()
def tiny_tree(tmp_path, leap_gesture_dirs):
    """Two real recordings of 6 copied frames each (copies, so that they can be replaced)."""
    root = tmp_path / "data"
    for gesture in ("01_palm", "07_ok"):
        folder = root / "00" / gesture
        folder.mkdir(parents=True)
        for frame in sorted(leap_gesture_dirs[gesture].iterdir())[40:46]:
            shutil.copy2(frame, folder / frame.name)
    return root


@pytest.fixture(scope="module")
def small_model_dir(tmp_path_factory):
    """A real (tiny) model saved as training saves it, with metrics beside it."""
    from hand_gesture_recognition.config import ModelConfig
    from hand_gesture_recognition.evaluate import compute_metrics, write_reports

    directory = tmp_path_factory.mktemp("safety") / "model"
    config = RunConfig(model=ModelConfig(lstm_units=(4,), dense_units=(4,)))
    model = build_model(2, 30, config.model)
    save_model(directory, model, ["01_palm", "02_l"], config)
    metrics = compute_metrics(np.array([0, 1]), np.array([0, 1]), ["01_palm", "02_l"], {})
    write_reports(directory, metrics)
    return directory


# ---------------------------------------------------------------------------------------------
# 1. Data loss: the main job deletes only what it downloaded.


@pytest.mark.slow
def test_train_without_data_keeps_a_dataset_that_was_already_there(
    tmp_path, monkeypatch, leap_gesture_dirs, capsys
):
    import kagglehub

    def no_network(*args, **kwargs):
        raise AssertionError("the dataset in --dest must be reused, not downloaded")

    monkeypatch.setattr(kagglehub, "dataset_download", no_network)
    # A copy made earlier (by `hand-gesture download` or by hand), with a file of the user's.
    dest = tmp_path / "datasets"
    for gesture in ("01_palm", "07_ok"):
        folder = dest / "leapgestrecog" / "leapGestRecog" / "00" / gesture
        folder.mkdir(parents=True)
        for frame in sorted(leap_gesture_dirs[gesture].iterdir())[:36]:
            (folder / frame.name).symlink_to(frame)
    (dest / "leapgestrecog" / "my-notes.txt").write_text("unrelated, the user's")
    before = digest(dest / "leapgestrecog")
    argv = ["train", "--dest", str(dest), "--out", str(tmp_path / "m"), "--epochs", "1"]
    assert main([*argv, "--split", "random", "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert "reusing the dataset" in err and "deleted" not in err, err
    assert digest(dest / "leapgestrecog") == before
    assert len(list((dest / "leapgestrecog").rglob("*.png"))) == 72


# ---------------------------------------------------------------------------------------------
# 2. Interruption: the first Ctrl-C ends the run and its workers; workers die with the parent.


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def start(argv: list[str], env: dict[str, str], via_uv: bool = True) -> subprocess.Popen:
    if via_uv:
        uv = shutil.which("uv")
        assert uv, "uv is needed to check Ctrl-C under `uv run`"
        command = [uv, "run", "--frozen", "--project", str(REPO), "hand-gesture", *argv]
    else:
        command = [sys.executable, "-m", "hand_gesture_recognition", *argv]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        start_new_session=True,  # Its own process group, like a job in a terminal.
    )


def parts_written(folder: Path) -> bool:
    # A part being written is a hidden temporary file until it is complete (atomic_output).
    return any(not p.name.startswith(".") for p in folder.glob("*.parts/*/*.npz"))


def interrupt_and_check(process: subprocess.Popen, parts: Path, command: str, group: bool):
    """Waits until frames are being processed, sends SIGINT, checks exit 130 and no workers."""
    wait_for(lambda: parts_written(parts) or process.poll() is not None, 600, "a finished part")
    assert process.poll() is None, process.communicate()
    workers = descendants(process.pid)
    assert len(workers) >= 2, workers  # The workers (and, under uv, the Python process).
    sent = time.monotonic()
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGINT)
    try:
        _, err = process.communicate(timeout=END_WITHIN_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"{command} still running {END_WITHIN_S} s after Ctrl-C (hang)")
    assert time.monotonic() - sent < END_WITHIN_S
    assert process.returncode == 130, err
    # Our lines; the progress bar may share a line, ended by a carriage return.
    ours = [line for line in re.split(r"[\r\n]", err) if line.startswith("hand-gesture")]
    assert ours == [f"hand-gesture {command}: interrupted"], err
    assert "Traceback" not in err, err
    wait_for(lambda: not any(alive(p) for p in workers), 10, "the workers to end")


@pytest.mark.slow
@pytest.mark.parametrize("group", [True, False], ids=["process-group", "parent-only"])
def test_ctrl_c_ends_extract_with_workers_at_once(tmp_path, leap_sample, group):
    process = start(
        ["extract", str(leap_sample), "--out", str(tmp_path / "lm.npz"), "--workers", "2"], {}
    )
    interrupt_and_check(process, tmp_path, "extract", group)
    assert not (tmp_path / "lm.npz").exists()
    # The finished recordings stay for the next run to resume from.
    assert parts_written(tmp_path)


@pytest.mark.slow
def test_ctrl_c_ends_train_with_data_at_once(tmp_path, leap_sample):
    cache = tmp_path / "cache"
    process = start(
        ["train", "--data", str(leap_sample), "--out", str(tmp_path / "m"), "--workers", "2"],
        {"HGR_CACHE_DIR": str(cache)},
    )
    interrupt_and_check(process, cache / "landmarks", "train", group=True)
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_workers_die_when_the_parent_is_killed(tmp_path, leap_sample):
    process = start(
        ["extract", str(leap_sample), "--out", str(tmp_path / "lm.npz"), "--workers", "2"],
        {},
        via_uv=False,
    )
    wait_for(lambda: parts_written(tmp_path) or process.poll() is not None, 600, "a part")
    workers = descendants(process.pid)
    assert len(workers) == 2, workers
    process.kill()
    process.communicate()
    try:
        wait_for(lambda: not any(alive(p) for p in workers), END_WITHIN_S, "orphaned workers")
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# 3. A model directory is replaced whole, by one writer at a time.


def test_a_crash_while_saving_leaves_the_old_model_loadable(small_model_dir, tmp_path):
    out = tmp_path / "model"
    shutil.copytree(small_model_dir, out)
    before = digest(out)
    code = (
        "import os\n"
        "from pathlib import Path\n"
        "from hand_gesture_recognition import model as m\n"
        "old = m.load_model(Path(os.environ['OUT']))\n"
        "def crash(directory, model, gestures, config):\n"
        "    model.save(directory / m.MODEL_FILE)\n"
        "    os._exit(9)  # Dies like kill -9, with the new weights written.\n"
        "m.write_model_files = crash\n"
        "m.save_model(Path(os.environ['OUT']), old.model, ['a', 'b'], old.config)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "OUT": str(out)}, timeout=300
    )
    assert result.returncode == 9
    assert digest(out) == before
    assert load_model(out).gestures == ["01_palm", "02_l"]


def test_new_weights_beside_old_settings_are_refused(small_model_dir, tmp_path, capsys):
    out = tmp_path / "model"
    shutil.copytree(small_model_dir, out)
    other = build_model(2, 30)
    other.save(tmp_path / "other.h5")
    shutil.copy(tmp_path / "other.h5", out / "hand_gesture_lstm_model.h5")
    with pytest.raises(InputError, match="hand_gesture_lstm_model.h5: does not belong"):
        load_model(out)
    staged = tmp_path / "staged"
    argv = ["publish", "--model-dir", str(out), "--repo", "me/g", "--dry-run", str(staged)]
    one_line_error(capsys, argv, "does not belong")
    assert not staged.exists()


def test_evaluate_never_writes_into_the_model_directory(small_model_dir, tmp_path, capsys):
    make_table().save(tmp_path / "lm.npz")
    before = digest(small_model_dir)
    argv = ["evaluate", "--model", str(small_model_dir), "--landmarks", str(tmp_path / "lm.npz")]
    one_line_error(capsys, [*argv, "--out", str(small_model_dir), "--force"], "is the model")
    assert digest(small_model_dir) == before


def test_a_second_run_into_the_same_out_is_refused(tmp_path, capsys):
    from hand_gesture_recognition.storage import OutputLock

    make_table().save(tmp_path / "lm.npz")
    out = tmp_path / "m"
    with OutputLock(out):
        one_line_error(
            capsys,
            ["train", "--landmarks", str(tmp_path / "lm.npz"), "--out", str(out)],
            "another hand-gesture run is writing there",
        )
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# 4. Nothing is overwritten without --force.


def test_predict_never_writes_over_its_source_or_existing_outputs(tmp_path, capsys):
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"the user's only copy")
    jsonl = tmp_path / "old.jsonl"
    jsonl.write_text('{"frame": 0}\n')
    base = ["predict", "--model", str(tmp_path / "no-model"), "--no-display"]
    one_line_error(
        capsys,
        [*base, "--source", str(clip), "--output", str(clip), "--force"],
        "is the input --source",
    )
    # Nor over one of a source folder's images.
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "1.jpg").write_bytes(b"the user's photo")
    one_line_error(
        capsys,
        [*base, "--source", str(photos), "--jsonl", str(photos / "1.jpg"), "--force"],
        f"--jsonl {photos / '1.jpg'}: is the input --source",
    )
    assert (photos / "1.jpg").read_bytes() == b"the user's photo"
    one_line_error(
        capsys,
        [*base, "--source", str(clip), "--output", str(tmp_path / "x.avi"), "--jsonl", str(jsonl)],
        f"--jsonl {jsonl}: already exists; pass --force",
    )
    (tmp_path / "taken.avi").write_bytes(b"earlier result")
    one_line_error(
        capsys,
        [*base, "--source", str(clip), "--output", str(tmp_path / "taken.avi")],
        "already exists; pass --force",
    )
    assert clip.read_bytes() == b"the user's only copy"
    assert jsonl.read_text() == '{"frame": 0}\n'
    assert (tmp_path / "taken.avi").read_bytes() == b"earlier result"


def test_extract_never_replaces_another_file_or_parts_folder(tiny_tree, tmp_path, capsys):
    other = tmp_path / "mine.npz"
    np.savez(other, weights=np.arange(3))
    before = digest(other)
    one_line_error(
        capsys,
        ["extract", str(tiny_tree), "--out", str(other), "--workers", "1"],
        "exists and is not a landmark file; pass --force",
    )
    assert digest(other) == before
    out = tmp_path / "lm.npz"
    parts = tmp_path / "lm.npz.parts"
    parts.mkdir()
    (parts / "keep.txt").write_text("the user's")
    one_line_error(
        capsys,
        ["extract", str(tiny_tree), "--out", str(out), "--workers", "1"],
        "was not made by hand-gesture extract",
    )
    assert (parts / "keep.txt").read_text() == "the user's" and not out.exists()


@pytest.mark.slow
def test_extract_replaces_stale_landmarks_only_with_force_and_cleans_only_its_parts(
    tiny_tree, tmp_path, capsys
):
    out = tmp_path / "lm.npz"
    argv = ["extract", str(tiny_tree), "--out", str(out), "--workers", "1"]
    assert main(argv) == 0
    assert not (tmp_path / "lm.npz.parts").exists()
    before = digest(out)
    # A frame replaced in place (other content, other size and time) makes the file stale.
    frames = sorted((tiny_tree / "00" / "01_palm").iterdir())
    shutil.copyfile(sorted((tiny_tree / "00" / "07_ok").iterdir())[0], frames[2])
    one_line_error(capsys, argv, "holds landmarks of other frames or settings; pass --force")
    assert digest(out) == before
    assert main([*argv, "--force"]) == 0
    assert "wrote" in capsys.readouterr().err
    assert digest(out) != before


# ---------------------------------------------------------------------------------------------
# 5. Caches follow the frames' content.


def test_recording_keys_change_when_a_frame_changes(tiny_tree):
    recording = find_recordings(tiny_tree)[0]
    key = lm._recording_key(recording)
    assert lm._recording_key(recording) == key
    frame = recording.frames[3]
    payload = frame.read_bytes()
    frame.write_bytes(payload[:-1] + bytes([payload[-1] ^ 1]))  # Same size, new content.
    os.utime(frame, ns=(time.time_ns(), frame.stat().st_mtime_ns + 10**9))
    assert lm._recording_key(recording) != key


@pytest.mark.slow
def test_replaced_frames_are_extracted_again(tiny_tree, tmp_path):
    out = tmp_path / "lm.npz"
    first = lm.extract_landmarks(tiny_tree, out, extractor="infrared", progress=False)
    again = lm.extract_landmarks(tiny_tree, out, extractor="infrared", progress=False)
    assert again.reused and not first.reused
    palm = sorted((tiny_tree / "00" / "01_palm").iterdir())
    ok = sorted((tiny_tree / "00" / "07_ok").iterdir())
    shutil.copyfile(ok[0], palm[0])  # In place: same name, the frame of another gesture.
    redone = lm.extract_landmarks(tiny_tree, out, extractor="infrared", progress=False, force=True)
    assert not redone.reused
    table = lf.LandmarkTable.load(out)
    rows = {p: i for i, p in enumerate(table.path)}
    replaced, source = rows[str(palm[0].resolve())], rows[str(ok[0].resolve())]
    np.testing.assert_allclose(
        table.landmarks[replaced], table.landmarks[source], equal_nan=True, atol=1e-5
    )


def test_train_caches_landmarks_in_the_users_cache_folder(tmp_path, monkeypatch):
    from hand_gesture_recognition.train import landmark_cache_path

    monkeypatch.delenv("HGR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    path = landmark_cache_path(tmp_path / "data", "auto")
    assert path.parent == tmp_path / "xdg" / "hand-gesture-recognition" / "landmarks"
    monkeypatch.setenv("HGR_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert landmark_cache_path(tmp_path / "data", "auto").parent == tmp_path / "elsewhere" / (
        "landmarks"
    )


# ---------------------------------------------------------------------------------------------
# 6. Workers are bounded by the machine.


def test_workers_are_bounded_by_cores_memory_and_recordings():
    cores, memory = lm.usable_cores(), lm.available_memory()
    count, reason = lm.bounded_workers(1000, 24)
    assert count == min(cores, 24, max(1, memory // lm.WORKER_MEMORY_BYTES))
    assert count <= cores and count * lm.WORKER_MEMORY_BYTES <= max(memory, lm.WORKER_MEMORY_BYTES)
    assert reason.startswith(f"--workers 1000: using {count}")
    assert lm.bounded_workers(1, 24) == (1, None)
    assert lm.bounded_workers(1000, 1) == (1, None)


# ---------------------------------------------------------------------------------------------
# 7. Failures come before the long work, as one line.


def test_unusable_outputs_are_refused_before_any_work(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("HGR_CACHE_DIR", str(tmp_path / "cache"))
    one_line_error(
        capsys,
        ["train", "--data", str(tmp_path / "data"), "--out", str(blocker / "models")],
        "is a file, not a folder",
    )
    assert not (tmp_path / "cache").exists()  # No extraction started.
    one_line_error(
        capsys,
        [
            "predict",
            "--model",
            str(tmp_path),
            "--source",
            str(tmp_path),
            "--jsonl",
            str(blocker / "x.jsonl"),
        ],
        "is a file, not a folder",
    )
    one_line_error(
        capsys,
        ["extract", str(tmp_path), "--out", str(blocker / "lm.npz")],
        "is a file, not a folder",
    )
    one_line_error(
        capsys,
        ["evaluate", "--model", str(tmp_path), "--landmarks", "x.npz", "--out", str(blocker)],
        "exists and is not a directory",
    )
    one_line_error(
        capsys,
        ["publish", "--model-dir", str(tmp_path), "--repo", "a/b", "--dry-run", str(blocker / "s")],
        "is a file, not a folder",
    )
    assert blocker.read_text() == "x"


@pytest.mark.parametrize(
    "content, field",
    [
        ({"preprocessing": {"sequence_length": "30"}}, "preprocessing.sequence_length"),
        ({"training": {"seed": 1.5}}, "training.seed"),
        ({"model": {"lstm_units": [8, "x"]}}, "model.lstm_units"),
        ({"training": []}, "training: expected a JSON object"),
        ([1, 2], "expected a JSON object of settings"),
        ({"preprocessing": {"max_missing_fraction": None}}, "max_missing_fraction"),
    ],
)
def test_a_malformed_model_config_is_one_line_naming_file_and_field(
    small_model_dir, tmp_path, capsys, content, field
):
    model = tmp_path / "model"
    shutil.copytree(small_model_dir, model)
    (model / "model_config.json").write_text(json.dumps(content))
    make_table().save(tmp_path / "lm.npz")
    argv = ["evaluate", "--model", str(model), "--landmarks", str(tmp_path / "lm.npz")]
    line = one_line_error(capsys, [*argv, "--out", str(tmp_path / "eval")], field)
    assert str(model / "model_config.json") in line


def test_malformed_landmark_files_are_refused_before_training(tmp_path, capsys):
    table = make_table()
    arrays = {name: getattr(table, name) for name in lf.REQUIRED_ARRAYS}
    out = str(tmp_path / "m")
    cases = {
        "meta-list": ({"meta": np.array("[1, 2]")}, "array 'meta' must be a JSON object"),
        "meta-text": ({"meta": np.array("not json")}, "array 'meta' is not valid JSON"),
        "meta-extractor": ({"meta": np.array('{"extractor": 3}')}, "meta field 'extractor'"),
        "aspect-shape": ({"aspect": np.ones((2, 3), np.float32)}, "array 'aspect' has shape"),
        "aspect-inf": ({"aspect": np.full(len(table), np.inf, np.float32)}, "not finite"),
    }
    for name, (change, message) in cases.items():
        path = tmp_path / f"{name}.npz"
        np.savez(path, **{**arrays, **change})
        line = one_line_error(capsys, ["train", "--landmarks", str(path), "--out", out], message)
        assert str(path) in line
    assert not (tmp_path / "m").exists()


def test_non_finite_landmarks_are_refused(tmp_path, capsys):
    table = make_table()
    table.landmarks[7, 3, 1] = np.inf
    table.save(tmp_path / "inf.npz")
    one_line_error(
        capsys,
        ["train", "--landmarks", str(tmp_path / "inf.npz"), "--out", str(tmp_path / "m")],
        "1 frame(s) marked detected have non-finite landmarks",
    )


@pytest.mark.parametrize("seed", ["-1", str(2**32), "1e3"])
def test_seed_outside_the_range_is_a_usage_error(capsys, seed):
    usage_error(capsys, ["train", "--seed", seed], "--seed")


@pytest.mark.parametrize("teachers", ["1", "-2", "two"])
def test_teachers_other_than_zero_or_two_and_more_is_a_usage_error(capsys, teachers):
    usage_error(capsys, ["train", "--teachers", teachers], "--teachers")


@pytest.mark.parametrize("candidates", ["1", "-2", "three"])
def test_candidates_other_than_zero_or_two_and_more_is_a_usage_error(capsys, candidates):
    usage_error(capsys, ["train", "--candidates", candidates], "--candidates")


def test_candidates_with_teachers_is_one_line(capsys, tmp_path):
    one_line_error(
        capsys,
        ["train", "--candidates", "3", "--teachers", "2", "--out", str(tmp_path / "m")],
        "--candidates and --teachers cannot be combined; choose one",
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--candidates", "candidates are fresh models; they cannot be combined with --init"),
        ("--teachers", "teachers train a fresh model; they cannot be combined with --init"),
    ],
)
def test_fresh_models_with_init_is_one_line(capsys, trained_model_dir, tmp_path, option, message):
    takes = str(tmp_path / "takes.npz")
    one_line_error(
        capsys,
        ["train", "--landmarks", takes, "--init", str(trained_model_dir), option, "2"]
        + ["--out", str(tmp_path / "m")],
        message,
    )


def test_a_seed_outside_the_range_in_a_config_file_is_refused(tmp_path):
    path = tmp_path / "model_config.json"
    path.write_text(json.dumps({"training": {"seed": -3}}))
    with pytest.raises(InputError, match=r"model_config.json: seed must be in \[0, 2\*\*32\)"):
        RunConfig.load(path)


def test_random_split_without_full_windows_is_one_line(tmp_path, capsys):
    make_table(subjects=("s",), frames=20).save(tmp_path / "short.npz")
    one_line_error(
        capsys,
        [
            "train",
            "--landmarks",
            str(tmp_path / "short.npz"),
            "--split",
            "random",
            "--out",
            str(tmp_path / "m"),
        ],
        "the random split needs at least 3 windows of 30 frames, found 0",
    )


def test_publish_offline_is_one_line(small_model_dir, monkeypatch, capsys):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    one_line_error(
        capsys,
        ["publish", "--model-dir", str(small_model_dir), "--repo", "me/gestures", "--token", "t"],
        "HF_HUB_OFFLINE is set, and publishing needs the Hub",
    )


def test_publish_offline_from_the_environment_is_one_line(small_model_dir):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hand_gesture_recognition",
            "publish",
            "--model-dir",
            str(small_model_dir),
            "--repo",
            "me/gestures",
            "--token",
            "hf_x",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("publishing needs the Hub; unset it, or stage the files with --dry-run DIR")
    )


def test_an_unreadable_gesture_folder_is_one_line(tiny_tree, tmp_path):
    locked = tiny_tree / "00" / "07_ok"
    command = [sys.executable, "-m", "hand_gesture_recognition", "extract", str(tiny_tree)]
    command += ["--out", str(tmp_path / "lm.npz"), "--workers", "1"]
    if os.geteuid() == 0:
        # Root reads any folder; without the capabilities that allow it, it cannot.
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's read-anything right"
        caps = "-dac_override,-dac_read_search"
        command = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", *command]
    locked.chmod(0)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"hand-gesture extract: error: {locked}: cannot read the folder (Permission denied)"
    )


@pytest.mark.parametrize("value", ["lots", "0", "-5", "inf", "nan"])
def test_the_app_with_a_bad_upload_limit_is_one_line(monkeypatch, capsys, value):
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import app

    monkeypatch.setenv("HGR_MAX_UPLOAD_MB", value)
    assert app.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and err.startswith(
        f"app.py: error: HGR_MAX_UPLOAD_MB='{value}'"
    )


@pytest.mark.slow
def test_a_tiny_image_is_skipped_and_named(tiny_tree, tmp_path, capsys):
    import cv2

    tiny = tiny_tree / "00" / "01_palm" / "frame_00_01_9999.png"
    cv2.imwrite(str(tiny), np.full((5, 5), 128, np.uint8))
    out = tmp_path / "lm.npz"
    assert main(["extract", str(tiny_tree), "--out", str(out), "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert f"skipped 1 unreadable image(s): {tiny}" in err
    table = lf.LandmarkTable.load(out)
    assert len(table) == 12 and table.meta["unreadable"] == [str(tiny)]


# ---------------------------------------------------------------------------------------------
# 8. No silent nonsense.


def test_one_gesture_is_refused(tmp_path, capsys, tiny_tree):
    make_table(gestures=("01_palm",)).save(tmp_path / "one.npz")
    one_line_error(
        capsys,
        ["train", "--landmarks", str(tmp_path / "one.npz"), "--out", str(tmp_path / "m")],
        "a classifier needs at least two gestures, found only '01_palm'",
    )
    shutil.rmtree(tiny_tree / "00" / "07_ok")
    one_line_error(
        capsys,
        ["train", "--data", str(tiny_tree), "--out", str(tmp_path / "m")],
        f"--data {tiny_tree}: a classifier needs at least two gestures",
    )


def test_a_new_style_model_without_its_config_is_refused(small_model_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(small_model_dir, model)
    (model / "model_config.json").unlink()
    with pytest.raises(InputError, match="model_config.json: missing beside a model trained"):
        load_model(model)
    # No metrics or manifest either, but an input shape the original never had.
    short = tmp_path / "short"
    short.mkdir()
    build_model(2, 20).save(short / "hand_gesture_lstm_model.h5")
    (short / "gesture_mapping.json").write_text('{"a": 0, "b": 1}')
    with pytest.raises(InputError, match=r"input shape \(20, 63\) is not the original"):
        load_model(short)


def test_symlink_loops_in_gesture_folders_are_ignored(tiny_tree):
    palm = tiny_tree / "00" / "01_palm"
    (palm / "loop").symlink_to(palm)
    (palm / "up").symlink_to(tiny_tree / "00")
    (palm / "sibling").symlink_to(tiny_tree / "00" / "07_ok")
    recordings = find_recordings(tiny_tree)
    assert [r.sequence_id for r in recordings] == ["00/01_palm", "00/07_ok"]
    assert [len(r.frames) for r in recordings] == [6, 6]


@pytest.mark.parametrize("value", [0.4, "1", True, None])
def test_a_mapping_index_that_is_not_a_whole_number_is_refused(tmp_path, value):
    path = tmp_path / "gesture_mapping.json"
    path.write_text(json.dumps({"01_palm": value, "02_l": 1}))
    with pytest.raises(InputError, match=f"{path}: class indices must be whole numbers"):
        read_mapping(path)
