"""Fault injection for the reliability tests and `benchmarks/reliability.py`: a real `sentiment-rnn
train` process, killed by SIGKILL at a chosen file-system step (inside checkpoint and model writes
included) or sent SIGKILL/SIGTERM/SIGINT at a chosen moment, then resumed with `--resume`; the
resumed model must equal, byte for byte, the model of a training that was never interrupted.

A "step" is one call of `os.replace` (every atomic write and checkpoint swap ends in one) or one
tensors file written (killed after writing half of it). The injection runs inside the
child process through `sitecustomize`-style start code, so the code under test is unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import tiny_reviews

INJECT = r'''
import os, signal, sys
STEP = int(os.environ.get("FAULT_STEP", "0"))
LOG = os.environ.get("FAULT_LOG")
count = 0

def step(what):
    global count
    count += 1
    if LOG:
        with open(LOG, "a") as handle:
            handle.write(f"{count}\t{what}\n")
    return count == STEP

def die():
    os.kill(os.getpid(), signal.SIGKILL)

real_replace = os.replace
def replace(src, dst, *args, **kwargs):
    if step(f"rename {src} -> {dst}"):
        die()
    return real_replace(src, dst, *args, **kwargs)
os.replace = replace

import sentiment_rnn.io as io  # light: torch and safetensors load inside main(), as in the real CLI
real_tensors_writer = io.tensors_writer
def tensors_writer(tensors):
    write = real_tensors_writer(tensors)
    def write_then_maybe_die(filename):
        write(filename)
        if step(f"write {filename}"):
            os.truncate(filename, os.path.getsize(filename) // 2)  # killed halfway through writing it
            die()
    return write_then_maybe_die
io.tensors_writer = tensors_writer

from sentiment_rnn.cli import main
sys.exit(main(sys.argv[1:]))
'''

SETTINGS = ["--set", "tokenizer.min_frequency=1", "--set", "model.embedding_dim=16", "--set", "model.hidden_size=16",
            "--set", "model.pretrained_embeddings=", "--set", "training.batch_size=32",
            "--set", "training.early_stopping_patience=0", "--epochs", "4", "--no-track", "--quiet"]


@dataclass
class Outcome:
    returncode: int
    stderr: str
    seconds: float


class TrainingUnderFire:
    """One working folder: a labelled file, an uninterrupted reference model, and kill/resume runs."""

    def __init__(self, root: Path, reviews_per_class: int = 300):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.train_file = root / "train.csv"
        texts, labels = tiny_reviews(reviews_per_class)
        with open(self.train_file, "w", newline="") as handle:
            csv.writer(handle).writerows([("review", "sentiment"), *zip(texts, labels)])
        self.script = root / "inject.py"
        self.script.write_text(INJECT)
        self.runs = 0

    def train(self, out: Path, *extra: str, step: int = 0, log: Path | None = None) -> subprocess.Popen:
        # A cache of its own per model folder: every run takes the reference's steps, in its order.
        env = {**os.environ, "SENTIMENT_RNN_CACHE": str(out.with_name(out.name + "-cache")), "FAULT_STEP": str(step),
               **({"FAULT_LOG": str(log)} if log else {})}
        self.runs += 1
        return subprocess.Popen([sys.executable, str(self.script), "train", "--train-file", str(self.train_file),
                                 "--out", str(out), *SETTINGS, *extra], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)

    def finish(self, proc: subprocess.Popen, started: float) -> Outcome:
        _, stderr = proc.communicate(timeout=600)
        return Outcome(proc.returncode, stderr, time.monotonic() - started)

    def reference(self) -> tuple[str, list[str], float]:
        """The uninterrupted model's digest, the file-system steps its training takes, and its time."""
        log = self.root / "steps.log"
        log.unlink(missing_ok=True)
        started = time.monotonic()
        outcome = self.finish(self.train(self.root / "reference", log=log), started)
        assert outcome.returncode == 0, outcome.stderr
        return model_digest(self.root / "reference"), log.read_text().splitlines(), outcome.seconds

    def killed_at_step(self, out: Path, step: int) -> Outcome:
        started = time.monotonic()
        return self.finish(self.train(out, step=step), started)

    def signalled_after(self, out: Path, sig: signal.Signals, seconds: float) -> Outcome:
        started = time.monotonic()
        proc = self.train(out)
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.send_signal(sig)
        return self.finish(proc, started)

    def resume(self, out: Path) -> Outcome:
        started = time.monotonic()
        return self.finish(self.train(out, "--resume"), started)


def model_digest(folder: Path) -> str:
    """The trained network and vocabulary (config.json also records times and paths, which differ)."""
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes())
    digest.update((folder / "tokenizer.json").read_bytes())
    return digest.hexdigest()


# What `train` answers a signal with: SIGKILL cannot be caught; SIGTERM and SIGINT end the run KILLED
# and exit 143 and 130. A signal that lands while Python itself starts or exits (before or after
# `main`) ends the process by the signal (-15, -2), as any Python program.
EXPECTED_EXIT = {signal.SIGKILL: -signal.SIGKILL, signal.SIGTERM: 143, signal.SIGINT: 130}
