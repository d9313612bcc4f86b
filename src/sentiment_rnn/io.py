"""Atomic file writes (a reader never sees half a file, a crash never leaves one behind), and
tensors in safetensors files."""

from __future__ import annotations

import errno
import glob
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import OutputError

Writer = Callable[[str], None]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once: os.umask can only be read by setting it


def remove_stale_temporaries(folder: Path, names) -> None:
    """Temporary files that a killed writer left (`.NAME.PID.XXXX.tmp`, its process gone): a later
    write of the same file removes them. A live process's are left alone."""
    for name in names:
        for path in folder.glob(f".{glob.escape(name)}.*.tmp"):
            pid = path.name[len(name) + 2:].split(".", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def atomic_write(path: str | Path, write: Writer) -> None:
    """Call `write(tmp_path)`, then rename the temporary file over `path` in one step."""
    write_unit(Path(path).parent, {Path(path).name: write})


def write_unit(folder: str | Path, writers: dict[str, Writer]) -> None:
    """Write several files of `folder` as one unit, as far as a file system allows: every file goes
    to a temporary name first, and only when all are written are they renamed into place, in the
    order given (put the file that marks the unit complete last). A failure while writing, such
    as a full disk, removes the temporary files and leaves the folder exactly as it was."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder, writers)
    staged: dict[str, str] = {}
    try:
        for name, write in writers.items():
            fd, staged[name] = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=folder)
            os.close(fd)
            os.chmod(staged[name], 0o666 & ~UMASK)  # as open() would make it: mkstemp makes 0600
            try:
                write(staged[name])
            except Exception as exc:
                if out_of_space(exc):
                    raise OutputError(f"{folder / name}: no space left on the device ({free_space(folder)} free); "
                                      f"nothing was replaced and no partial file was left") from exc
                raise
        for name, tmp in staged.items():
            os.replace(tmp, folder / name)
    except BaseException:
        for tmp in staged.values():
            Path(tmp).unlink(missing_ok=True)
        raise


def out_of_space(exc: BaseException) -> bool:
    """A full disk or quota, told by errno or, from libraries that wrap it (safetensors, pyarrow), by text."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return True
    text = str(exc)
    return any(sign in text for sign in ("No space left on device", "os error 28", "Disk quota exceeded"))


def free_space(folder: Path) -> str:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "unknown"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if free < 1024 or unit == "GiB":
            return f"{free:.0f} {unit}" if unit == "bytes" else f"{free:.1f} {unit}"
        free /= 1024
    return ""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def text_writer(text: str) -> Writer:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return write


def json_writer(obj: Any) -> Writer:
    return text_writer(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def bytes_writer(content: bytes) -> Writer:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(content)

    return write


def tensors_bytes(tensors: dict) -> bytes:
    """A safetensors file's bytes, in memory (to know its digest before it is written)."""
    from safetensors.torch import save

    return save({k: v.detach().contiguous().cpu() for k, v in tensors.items()})


def tensors_writer(tensors: dict) -> Writer:
    """Tensors to a safetensors file (never pickle); copied to the CPU first."""
    from safetensors.torch import save_file

    plain = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    return lambda tmp: save_file(plain, tmp)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, text_writer(text))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write(path, json_writer(obj))


def save_tensors(path: str | Path, tensors: dict) -> None:
    atomic_write(path, tensors_writer(tensors))


def load_tensors(path: str | Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))
