"""Variable-length exactness: a review scores the same alone and inside a batch of longer reviews."""

import pytest
import torch

from sentiment_rnn import ModelConfig
from sentiment_rnn.models import SentimentNet
from sentiment_rnn.models.encoder import reverse_within_length


def test_reverse_within_length_is_an_involution():
    index = reverse_within_length(torch.tensor([3, 1, 5]), 5)
    assert index.tolist() == [[2, 1, 0, 3, 4], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0]]
    assert torch.equal(index.gather(1, index), torch.arange(5).expand(3, 5))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention", "concat"])
def test_alone_equals_in_batch(cell, bidirectional, pooling):
    torch.manual_seed(0)
    config = ModelConfig(cell=cell, bidirectional=bidirectional, num_layers=2, pooling=pooling, hidden_size=12,
                         embedding_dim=8, merge_mode="concat" if pooling != "max" else "sum")
    net = SentimentNet(config, vocab_size=40, num_classes=3).eval()
    lengths = torch.tensor([4, 23, 11, 1])
    tokens = torch.randint(2, 40, (4, 23))
    for row, length in enumerate(lengths):
        tokens[row, length:] = 0
    with torch.no_grad():
        batched = net(tokens, lengths)
        alone = torch.cat([net(tokens[i:i + 1, :lengths[i]], lengths[i:i + 1]) for i in range(4)])
        # Padding content must not matter either: fill it with real token ids.
        noisy = tokens.clone()
        for row, length in enumerate(lengths):
            noisy[row, length:] = 7
        with_noise = net(noisy, lengths)
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(with_noise, alone, atol=1e-5, rtol=0)


def test_plain_bidirectional_rnn_would_fail_this_test():
    """The check above can fail: torch's own bidirectional LSTM on padded input reads the padding."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 6, batch_first=True, bidirectional=True)
    x = torch.randn(1, 10, 4)
    short = lstm(x[:, :3])[0][:, 2]
    padded = lstm(torch.cat([x[:, :3], torch.zeros(1, 7, 4)], dim=1))[0][:, 2]
    assert (short - padded).abs().max() > 1e-3


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mean", "mul"])
def test_merge_modes_shape(merge_mode):
    net = SentimentNet(ModelConfig(merge_mode=merge_mode, hidden_size=8, embedding_dim=4, pooling="mean"), 20, 2)
    expected = 16 if merge_mode == "concat" else 8
    assert net.encoder.output_size == expected
    assert net(torch.ones(2, 5, dtype=torch.long), torch.tensor([5, 2])).shape == (2, 1)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_no_recurrent_state_carries_over_between_calls(cell):
    torch.manual_seed(0)
    net = SentimentNet(ModelConfig(cell=cell, num_layers=2), 20, 2).eval()
    ids, lengths = torch.randint(2, 20, (2, 5)), torch.tensor([5, 2])
    first = net(ids, lengths)
    net(torch.randint(2, 20, (3, 7)), torch.tensor([7, 7, 3]))  # another batch in between
    torch.testing.assert_close(net(ids, lengths), first, rtol=0, atol=0)
    # and no module keeps a tensor outside its parameters and buffers (where a hidden state would go)
    for name, module in net.named_modules():
        assert not [k for k, v in vars(module).items() if torch.is_tensor(v)], name


def test_cpu_dropout_keeps_the_expected_fraction_and_scale():
    from sentiment_rnn.models.dropout import Dropout

    torch.manual_seed(0)
    layer = Dropout(0.25)
    x = torch.ones(64, 100, 32)
    y = layer(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.75) < 0.01
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.75))
    layer.eval()
    assert torch.equal(layer(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x) and not Dropout(1.0).train()(x).any()
