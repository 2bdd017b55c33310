"""Atomic files, file sets, the writer's lock, output checks, modes and temporary files."""

import hashlib
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from hand_gesture_recognition import storage
from hand_gesture_recognition.errors import InputError


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) with the SHA-256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_set(files: dict[str, bytes]):
    def write(staging: Path) -> None:
        for name, payload in files.items():
            (staging / name).write_bytes(payload)

    return write


def dead_pid() -> int:
    """The id of a process that has just ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_config_still_exports_the_atomic_helpers():
    from hand_gesture_recognition import config

    assert config.write_json_atomic is storage.write_json_atomic
    assert config.atomic_output is storage.atomic_output
    assert config.read_json is storage.read_json


def test_a_file_set_replaces_the_old_set_whole_and_keeps_other_files(tmp_path):
    out = tmp_path / "models"
    storage.write_file_set(out, write_set({"a.h5": b"old-a", "b.json": b"old-b", "c.png": b"c"}))
    (out / "notes.txt").write_text("the user's own")
    storage.write_file_set(
        out, write_set({"a.h5": b"new-a", "b.json": b"new-b"}), replaces=("a.h5", "b.json", "c.png")
    )
    assert (out / "a.h5").read_bytes() == b"new-a" and (out / "b.json").read_bytes() == b"new-b"
    assert not (out / "c.png").exists()  # Part of the old set, not of the new one.
    assert (out / "notes.txt").read_text() == "the user's own"
    manifest = storage.read_manifest(out)
    assert sorted(manifest["files"]) == ["a.h5", "b.json"]
    storage.verify_file_set(out)
    assert [p.name for p in tmp_path.iterdir() if storage.TEMP_MARK in p.name] == []


def test_a_failed_write_leaves_the_old_set_byte_identical(tmp_path):
    out = tmp_path / "models"
    storage.write_file_set(out, write_set({"a.h5": b"old-a", "b.json": b"old-b"}))
    before = tree_digest(out)

    def crash(staging: Path) -> None:
        (staging / "a.h5").write_bytes(b"new-a")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        storage.write_file_set(out, crash, replaces=("a.h5", "b.json"))
    assert tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".models.lock", "models"]


def test_a_writer_killed_mid_set_leaves_the_old_set_and_its_leftovers_are_swept(tmp_path):
    out = tmp_path / "models"
    storage.write_file_set(out, write_set({"a.h5": b"old-a", "b.json": b"old-b"}))
    before = tree_digest(out)
    # A real process that dies (no cleanup, like kill -9) half-way through writing a set.
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from hand_gesture_recognition.storage import write_file_set\n"
        "def write(staging):\n"
        "    (staging / 'a.h5').write_bytes(b'new-a')\n"
        "    os._exit(9)\n"
        f"write_file_set(Path({str(out)!r}), write)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert result.returncode == 9
    assert tree_digest(out) == before
    leftovers = [p for p in tmp_path.iterdir() if storage.TEMP_MARK in p.name]
    assert len(leftovers) == 1 and leftovers[0].is_dir()
    storage.write_file_set(out, write_set({"a.h5": b"new-a", "b.json": b"new-b"}))
    assert [p for p in tmp_path.iterdir() if storage.TEMP_MARK in p.name] == []
    assert (out / "a.h5").read_bytes() == b"new-a"


def test_a_mixed_set_is_detected(tmp_path):
    out = tmp_path / "models"
    storage.write_file_set(out, write_set({"a.h5": b"new-a", "b.json": b"new-b"}))
    (out / "b.json").write_bytes(b"old-b")
    with pytest.raises(InputError, match="b.json: does not belong"):
        storage.verify_file_set(out)
    (out / "b.json").unlink()
    with pytest.raises(InputError, match="b.json is missing"):
        storage.verify_file_set(out)


def test_two_writers_into_one_folder_are_refused(tmp_path):
    out = tmp_path / "models"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from hand_gesture_recognition.storage import OutputLock\n"
            f"with OutputLock({str(out)!r}):\n"
            "    print('locked', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match="another hand-gesture run is writing there"):
            storage.write_file_set(out, write_set({"a": b"1"}))
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the dead holder's lock.
    storage.write_file_set(out, write_set({"a": b"1"}))
    assert (out / "a").read_bytes() == b"1"


@pytest.mark.parametrize("mask, mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_outputs_get_the_modes_the_umask_gives(tmp_path, mask, mode, dir_mode):
    old = os.umask(mask)
    try:
        storage.write_json_atomic(tmp_path / "a.json", {"x": 1})
        tmp = storage.atomic_output(tmp_path / "b.npz")
        storage.write_file_set(tmp_path / "set", write_set({"f": b"1"}))
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == mode
    assert tmp.stat().st_mode & 0o777 == mode
    assert (tmp_path / "set").stat().st_mode & 0o777 == dir_mode
    assert (tmp_path / "set" / storage.MANIFEST_FILE).stat().st_mode & 0o777 == mode


def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = tmp_path / f".lm{storage.TEMP_MARK}{dead_pid()}-abcd.npz"
    dead.write_bytes(b"partial")
    live = tmp_path / f".lm{storage.TEMP_MARK}{os.getppid()}-abcd.npz"
    live.write_bytes(b"being written")
    mine = tmp_path / ".lm.npz.user-file"
    mine.write_bytes(b"not ours")
    storage.write_json_atomic(tmp_path / "x.json", [1])
    assert not dead.exists()
    assert live.exists() and mine.exists()


def test_a_killed_atomic_write_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    code = (
        "import os\n"
        "from hand_gesture_recognition.storage import atomic_output\n"
        f"tmp = atomic_output({str(tmp_path / 'lm.npz')!r})\n"
        "tmp.write_bytes(b'half a file')\n"
        "os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 9
    assert len([p for p in tmp_path.iterdir() if storage.TEMP_MARK in p.name]) == 1
    storage.write_bytes_atomic(tmp_path / "lm.npz", b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lm.npz"]


def test_output_file_checks(tmp_path):
    source = tmp_path / "clip.avi"
    source.write_bytes(b"the user's video")
    with pytest.raises(InputError, match="--output .*is the input --source"):
        storage.check_output_file(
            tmp_path / "." / "clip.avi", "--output", force=True, inputs=[("--source", source)]
        )
    with pytest.raises(InputError, match="already exists; pass --force"):
        storage.check_output_file(source, "--jsonl")
    assert storage.check_output_file(source, "--jsonl", force=True) == source
    with pytest.raises(InputError, match="is a directory"):
        storage.check_output_file(tmp_path, "--jsonl", force=True)
    with pytest.raises(InputError, match="is a file, not a folder"):
        storage.check_output_file(source / "sub" / "x.jsonl", "--jsonl")
    with pytest.raises(InputError, match="exists and is not a directory"):
        storage.check_output_dir(source, "--out")
    with pytest.raises(InputError, match="is a file, not a folder"):
        storage.check_output_dir(source / "models", "--out")
    assert source.read_bytes() == b"the user's video"


def test_file_fingerprints_change_with_content_and_time(tmp_path):
    frame = tmp_path / "frame.png"
    frame.write_bytes(b"1234")
    first = storage.file_fingerprint(frame)
    frame.write_bytes(b"12345")
    assert storage.file_fingerprint(frame) != first
    same_size = storage.file_fingerprint(frame)
    time.sleep(0.01)
    frame.write_bytes(b"54321")
    os.utime(frame, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert storage.file_fingerprint(frame) != same_size


def test_the_cache_is_in_the_users_cache_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("HGR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert storage.user_cache_dir() == tmp_path / "xdg" / "hand-gesture-recognition"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert storage.user_cache_dir() == tmp_path / "home" / ".cache" / "hand-gesture-recognition"
    monkeypatch.setenv("HGR_CACHE_DIR", str(tmp_path / "mine"))
    assert storage.user_cache_dir() == tmp_path / "mine"


def test_zip_directory_holds_every_file_under_one_folder(tmp_path):
    model = tmp_path / "model-3"
    (model / "plots").mkdir(parents=True)
    files = {"model.tflite": b"\x00tflite", ".hgr-manifest.json": b"{}", "plots/curve.png": b"png"}
    for name, payload in files.items():
        (model / name).write_bytes(payload)
    (model / ".model.hgr-tmp-123-abc.h5").write_bytes(b"half-written")
    (model / "link.json").symlink_to(model / ".hgr-manifest.json")
    out = storage.zip_directory(model, tmp_path / "mine.zip", folder="personal-model")
    assert out == tmp_path / "mine.zip"
    with zipfile.ZipFile(out) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == {
            f"personal-model/{name}": payload for name, payload in files.items()
        }
    assert [p.name for p in tmp_path.iterdir() if "hgr-tmp" in p.name] == []
    with pytest.raises(InputError, match="not a directory"):
        storage.zip_directory(tmp_path / "mine.zip", tmp_path / "other.zip")
