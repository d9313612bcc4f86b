"""Atomic writes: files take the user's umask, and a killed writer's temporary files are removed
by the next write of the same file."""

from __future__ import annotations

import os
import subprocess
import sys

from sentiment_rnn.io import UMASK, atomic_write_text


def test_written_files_take_the_umask(tmp_path):
    atomic_write_text(tmp_path / "a.json", "{}")
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~UMASK


def test_a_killed_writers_temporaries_are_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.jsonl.{dead.stdout.strip()}.abcd1234.tmp"  # as SIGKILL leaves it
    stale.write_text("half")
    live = tmp_path / f".out.jsonl.{os.getpid()}.efgh5678.tmp"  # a writer still running: kept
    live.write_text("busy")
    other = tmp_path / f".other.jsonl.{dead.stdout.strip()}.abcd1234.tmp"  # another file's: kept
    other.write_text("x")
    atomic_write_text(tmp_path / "out.jsonl", "done\n")
    assert (tmp_path / "out.jsonl").read_text() == "done\n"
    assert not stale.exists() and live.exists() and other.exists()
