"""The CUDA path: cuDNN recurrent kernels, autocast, and a step loop that never waits for the GPU.

Skipped on machines without a GPU (CI); run on a GPU machine with `benchmarks/gpu_check.sh`.
"""

from __future__ import annotations

import collections
import warnings

import pytest
import torch

from conftest import TINY_SETTINGS
from sentiment_rnn import ModelConfig, SentimentClassifier
from sentiment_rnn.models import SentimentNet

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cudnn_encoder_is_exact_on_padded_batches(cell):
    """The same property as test_encoder.py, through cuDNN's kernels (fp32)."""
    torch.manual_seed(0)
    config = ModelConfig(cell=cell, bidirectional=True, num_layers=2, pooling="max", hidden_size=12, embedding_dim=8)
    net = SentimentNet(config, vocab_size=40, num_classes=2).eval().cuda()
    lengths = torch.tensor([4, 23, 11, 1])
    tokens = torch.randint(2, 40, (4, 23))
    for row, length in enumerate(lengths):
        tokens[row, length:] = 7  # real ids in the padding: they must not matter
    # fp32 proper (cuDNN would otherwise round matrix inputs to TF32, ~1e-3)
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        batched = net(tokens.cuda(), lengths.cuda())
        alone = torch.cat([net(tokens[i:i + 1, :lengths[i]].cuda(), lengths[i:i + 1].cuda()) for i in range(4)])
        on_cpu = net.cpu()(tokens, lengths)
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(batched.cpu(), on_cpu, atol=1e-4, rtol=0)


@pytest.mark.parametrize("precision", ["bf16", "fp16", "fp32"])
def test_trains_on_cuda_and_the_model_comes_back_to_cpu(tiny_data, precision, tmp_path):
    settings = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "device": "cuda", "precision": precision}}
    clf = SentimentClassifier(**settings).fit(*tiny_data)
    weights = next(clf.network_.parameters())
    assert weights.device.type == "cpu" and weights.dtype == torch.float32
    assert clf.score(*tiny_data) > 0.9
    clf.save(tmp_path / "model")
    again = SentimentClassifier.load(tmp_path / "model", "torch")  # the engine a freshly fitted model uses
    assert (again.predict_proba(tiny_data[0]) == clf.predict_proba(tiny_data[0])).all()


def test_the_step_loop_does_not_wait_for_the_gpu(tiny_data):
    """Host-device syncs come once per `log_every_steps` group and per epoch, never once per step."""
    settings = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "device": "cuda", "epochs": 2,
                                              "batch_size": 2, "log_every_steps": 16, "precision": "bf16"}}
    clf = SentimentClassifier(**settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            clf.fit(*tiny_data)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    steps = len(clf.history_.steps)
    assert steps == 64  # 64 training reviews in batches of 2, twice
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    assert syncs  # the check sees syncs at all (moving the model back to the CPU is one)
    per_site = collections.Counter((w.filename, w.lineno) for w in syncs)
    # A per-step sync comes at least 64 times from one line; the legitimate ones (step groups, epoch
    # totals, moving the model to the GPU and back) come a few times each.
    assert max(per_site.values()) < steps, per_site.most_common(5)
