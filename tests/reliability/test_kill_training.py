"""Training killed at random points (SIGKILL inside checkpoint and model writes, SIGKILL/SIGTERM/SIGINT
at random moments) and resumed with `--resume` ends with exactly the model of an uninterrupted run.
`benchmarks/reliability.py` runs every step and more moments; this samples them (the seed is in
each assertion's message, to replay a failure)."""

from __future__ import annotations

import random
import signal

import pytest

from faults import EXPECTED_EXIT, TrainingUnderFire, model_digest

SEED = random.randrange(1 << 16)


@pytest.fixture(scope="module")
def fire(tmp_path_factory):
    fire = TrainingUnderFire(tmp_path_factory.mktemp("fire"))
    fire.digest, fire.steps, fire.seconds = fire.reference()
    return fire


def test_sigkill_inside_checkpoint_and_model_writes_then_resume_is_exact(fire):
    rng = random.Random(SEED)
    checkpoint = [i for i, line in enumerate(fire.steps, 1) if "/checkpoints/last" in line]
    final = [i for i, line in enumerate(fire.steps, 1) if "/checkpoints/" not in line and "/reference/" in line]
    assert checkpoint and len(final) == 6  # tokenizer, weights, metrics, config, model card, manifest: one unit
    for step in (rng.choice(checkpoint), rng.choice(final)):
        out = fire.root / f"step{step}"
        killed = fire.killed_at_step(out, step)
        assert killed.returncode == -signal.SIGKILL, (SEED, step, fire.steps[step - 1], killed.stderr)
        resumed = fire.resume(out)
        assert resumed.returncode == 0, (SEED, step, fire.steps[step - 1], resumed.stderr)
        assert model_digest(out) == fire.digest, (SEED, step, fire.steps[step - 1])


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_at_a_random_moment_then_resume_is_exact(fire, sig):
    moment = random.Random(SEED + sig).uniform(0.3, fire.seconds)
    out = fire.root / f"{sig.name}"
    killed = fire.signalled_after(out, sig, moment)
    assert killed.returncode in (EXPECTED_EXIT[sig], -sig, 0), (SEED, moment, killed.stderr)  # 0: finished first
    if killed.returncode == EXPECTED_EXIT[sig] and sig != signal.SIGKILL:
        assert killed.stderr.strip() in ("interrupted", "terminated"), killed.stderr  # one line, no traceback
    resumed = fire.resume(out)
    assert resumed.returncode == 0, (SEED, moment, resumed.stderr)
    assert model_digest(out) == fire.digest, (SEED, moment)
