"""Safe writes: atomic files, whole sets of files, a writer's lock, output checks, cache keys.

Every file this project writes goes through here, so that the promises in the README hold in
one place:

- a file is written to a temporary sibling and renamed onto its name, so a reader sees the old
  file or the new one, never half of one (:func:`atomic_output`, :func:`write_bytes_atomic`);
- a set of files that belong together (a model with its mapping, settings and metrics) is
  assembled in a temporary sibling folder that takes the old folder's place in one rename
  (:func:`write_file_set`), so a crash leaves the old set or the new one, never a mix;
- one writer at a time per output folder (:class:`OutputLock`);
- outputs are checked before long work starts, and nothing is replaced without ``--force``
  (:func:`check_output_file`, :func:`check_output_dir`);
- temporary names carry the writer's process id, so a later run removes what a killed one
  left (:func:`sweep_temporaries`);
- written files get the modes the umask gives (``mkstemp`` alone would give 0600).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import InputError

#: Marks temporary names: ``.<name>.hgr-tmp-<pid>-<random><suffix>``.
TEMP_MARK = ".hgr-tmp-"
_TEMP_PATTERN = re.compile(r"^\..*\.hgr-tmp-(\d+)-[^.]*")
#: The manifest of a file set: names, sizes and SHA-256 of the files written together.
MANIFEST_FILE = ".hgr-manifest.json"

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


# ---------------------------------------------------------------------------------------------
# Modes and temporary names.


def current_umask() -> int:
    """The process's umask (read from ``/proc`` where possible, which changes nothing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike, directory: bool = False) -> None:
    """Gives ``path`` the mode a plain ``open`` (or ``mkdir``) would have given it."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Removes temporary files and folders that a writer which no longer runs left in ``folder``.

    Only names this module makes (``.<name>.hgr-tmp-<pid>-...``) whose process is gone are
    removed; everything else is left alone.

    Returns:
        The removed paths.
    """
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_PATTERN.match(entry.name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


def atomic_output(path: str | os.PathLike) -> Path:
    """Returns a temporary sibling path to write to before :func:`os.replace` onto ``path``.

    The temporary name keeps the suffix of ``path`` so that writers that choose a format by
    suffix (``.h5``, ``.png``, ``.npz``) still do. The file exists (empty) with the umask's
    mode, which writers that open it again keep.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}{TEMP_MARK}{os.getpid()}-", suffix=path.suffix
    )
    os.close(fd)
    apply_umask(tmp)
    return Path(tmp)


def write_bytes_atomic(path: str | os.PathLike, payload: bytes) -> None:
    """Writes bytes to ``path`` so that readers never see a partial file."""
    path = Path(path)
    tmp = atomic_output(path)
    try:
        with tmp.open("wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Writes ``data`` as indented JSON through a temporary file and a rename."""
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def read_json(path: str | os.PathLike) -> Any:
    """Reads a JSON file, turning a missing or malformed file into an :class:`InputError`."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not valid JSON ({error})") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from None


# ---------------------------------------------------------------------------------------------
# One writer per output.


class OutputLock:
    """An exclusive lock held by the one run that writes to ``path`` (a file or a folder).

    The lock is ``fcntl.flock`` on a sibling ``.<name>.lock`` file, so it survives the folder
    being swapped and is released by the kernel when the holder dies, however it dies.

    Args:
        path: The output the lock guards.
        option: How the user named it, for the message (``--out``).

    Raises:
        InputError: On entry, if another process holds the lock.
    """

    def __init__(self, path: str | os.PathLike, option: str = "--out") -> None:
        self.path = Path(path)
        self.option = option
        self.lock_file = self.path.parent / f".{self.path.name}.lock"
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(
                f"{self.option} {self.path}: another hand-gesture run is writing there "
                f"(it holds {self.lock_file}); wait for it or choose another {self.option}"
            ) from None
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None


# ---------------------------------------------------------------------------------------------
# Sets of files replaced whole.


def _exchange(a: Path, b: Path) -> bool:
    """Swaps two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p] * 2 + [ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def file_digest(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest of a file set, or None for a folder written without one."""
    path = Path(directory) / MANIFEST_FILE
    if not path.is_file():
        return None
    manifest = read_json(path)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise InputError(f"{path}: not a file-set manifest (expected {{'files': {{...}}}})")
    return manifest


def verify_file_set(directory: str | os.PathLike) -> None:
    """Checks that the files of a set are those its manifest lists (none missing or changed).

    A folder without a manifest (written by another tool or by hand) passes.

    Raises:
        InputError: Naming the first file that is missing or differs.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is None:
        return
    for name, entry in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise InputError(f"{directory}: incomplete file set, {name} is missing")
        if path.stat().st_size != entry.get("size") or file_digest(path) != entry.get("sha256"):
            raise InputError(
                f"{path}: does not belong with the other files of {directory} (changed after "
                "they were written together); write the set again"
            )


def write_file_set(
    directory: str | os.PathLike,
    write: Callable[[Path], Any],
    *,
    replaces: Iterable[str] = (),
    lock: OutputLock | None = None,
) -> Any:
    """Writes a set of files that replaces the old set in ``directory`` whole or not at all.

    ``write`` fills a temporary sibling folder; then files of the old folder that the new set
    does not replace (the user's own, anything not named in ``replaces`` or the old manifest)
    are linked into it, a manifest is added, and the folder takes the old one's place in one
    atomic exchange. A crash at any point leaves the old folder as it was (and a temporary
    folder that the next write removes).

    Args:
        directory: The folder that receives the set.
        write: Called with the temporary folder; writes the new files into it.
        replaces: Names of the old set that are dropped when the new set lacks them.
        lock: An :class:`OutputLock` the caller already holds for ``directory``; one is taken
            for the duration of the write otherwise.

    Returns:
        What ``write`` returned.

    Raises:
        InputError: If ``directory`` exists and is not a folder, or another run holds the lock.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory}: exists and is not a directory")
    if directory.is_symlink():
        # The folder the link names receives the set; the link stays.
        directory = directory.resolve()
    if lock is None or not lock.held:
        with OutputLock(directory) as own:
            return write_file_set(directory, write, replaces=replaces, lock=own)
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(parent)
    prefix = f".{directory.name}{TEMP_MARK}{os.getpid()}-"
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    try:
        apply_umask(staging, directory=True)
        result = write(staging)
        written = {p.name for p in staging.iterdir()}
        files = {
            name: {"size": (staging / name).stat().st_size, "sha256": file_digest(staging / name)}
            for name in sorted(written)
            if (staging / name).is_file()
        }
        if directory.is_dir():
            old = read_manifest_quietly(directory)
            dropped = set(replaces) | set(old) | {MANIFEST_FILE}
            for entry in directory.iterdir():
                if entry.name in written or entry.name in dropped:
                    continue
                _link_or_copy(entry, staging / entry.name)
        write_json_atomic(staging / MANIFEST_FILE, {"files": files})
        _fsync_dir(staging)
        if directory.is_dir():
            if not _exchange(staging, directory):
                # Not a temporary name: if a crash comes between the two renames, the old
                # set stays here for the user to recover and no sweep removes it.
                aside = parent / f".{directory.name}.hgr-old-{os.getpid()}"
                os.rename(directory, aside)
                os.rename(staging, directory)
                staging = aside
        else:
            os.rename(staging, directory)
            staging = None
        _fsync_dir(parent)
        return result
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def read_manifest_quietly(directory: Path) -> list[str]:
    """The names listed in a folder's manifest ([] when it has none or it is unreadable)."""
    try:
        manifest = read_manifest(directory)
    except InputError:
        return []
    return list(manifest["files"]) if manifest else []


def _link_or_copy(source: Path, target: Path) -> None:
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy_file)
    elif source.is_symlink():
        os.symlink(os.readlink(source), target)
    else:
        _link_or_copy_file(source, target)


def _link_or_copy_file(source: str | os.PathLike, target: str | os.PathLike) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Output checks, before the long work starts.


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_location(path: str | os.PathLike, option: str) -> None:
    """Checks that ``path`` could be created: its nearest existing ancestor is a writable folder.

    Raises:
        InputError: If an ancestor is a file or the folder is not writable.
    """
    path = Path(path)
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise InputError(f"{option} {path}: {base} is a file, not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: cannot write in {base} (permission denied)")


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (through links and relative spellings too)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).absolute() == Path(b).absolute()


def check_output_file(
    path: str | os.PathLike,
    option: str,
    *,
    force: bool = False,
    inputs: Iterable[tuple[str, str | os.PathLike]] = (),
) -> Path:
    """Checks an output file before any work: writable, not an input, not replaced silently.

    Args:
        path: The file to be written.
        option: The option that named it (``--output``).
        force: Allow replacing an existing file.
        inputs: ``(option, path)`` of the run's inputs, which are never overwritten.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InputError: For a folder, an unwritable place, an input, or an existing file
            without ``force``.
    """
    path = Path(path)
    for name, source in inputs:
        if source is not None and same_file(path, source):
            raise InputError(f"{option} {path}: is the input {name}; choose another file")
    if path.is_dir():
        raise InputError(f"{option} {path}: is a directory, expected a file")
    if path.exists() and not force:
        raise InputError(f"{option} {path}: already exists; pass --force to replace it")
    check_writable_location(path, option)
    return path


def check_output_dir(path: str | os.PathLike, option: str) -> Path:
    """Checks that a folder can be created or written, before any work.

    Raises:
        InputError: If ``path`` is a file or the place is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: exists and is not a directory")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{option} {path}: cannot write there (permission denied)")
        check_writable_location(path, option)
    else:
        check_writable_location(path, option)
    return path


# ---------------------------------------------------------------------------------------------
# Archives.


def zip_directory(
    directory: str | os.PathLike, out: str | os.PathLike, folder: str | None = None
) -> Path:
    """Writes every file of a directory (a model directory) into a zip file, atomically.

    The files, hidden ones (the manifest) included, go under one top folder, so that unzipping
    gives a directory that works as it is (``hand-gesture predict --model-dir FOLDER``).
    Symbolic links, sockets and writers' temporary files are left out.

    Args:
        directory: The directory.
        out: The zip file to write (replaced if it exists).
        folder: The top folder's name in the zip (the directory's name by default).

    Returns:
        ``out``.

    Raises:
        InputError: If ``directory`` is not a directory.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory")
    top = folder or directory.name
    files = sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and not p.is_symlink() and TEMP_MARK not in p.name
    )
    out = Path(out)
    tmp = atomic_output(out)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, f"{top}/{path.relative_to(directory).as_posix()}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


# ---------------------------------------------------------------------------------------------
# Caches.


def file_fingerprint(path: str | os.PathLike) -> tuple[str, int, int]:
    """``(name, size, mtime in ns)`` of a file: changes when the file is replaced or edited."""
    stat = os.stat(path)
    return (Path(path).name, stat.st_size, stat.st_mtime_ns)


def user_cache_dir() -> Path:
    """The project's cache folder: ``HGR_CACHE_DIR``, else ``$XDG_CACHE_HOME`` (``~/.cache``)."""
    explicit = os.environ.get("HGR_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base).expanduser() / "hand-gesture-recognition"
