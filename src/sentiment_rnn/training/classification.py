"""The classifier's recipe, on the one training loop: train the vocabulary on the cleaned texts,
encode, build the network (from pretrained word vectors or a pretrained encoder when asked), and
train it with early stopping, checkpoints and, when asked, gradual unfreezing and DropConnect.

`SentimentClassifier.fit` validates its settings and cleans the texts, then calls
`train_classifier`; nothing here knows the estimator.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import ModelConfig, TokenizerConfig, TrainingConfig
from ..errors import DataError
from ..folder import EncoderFolder
from ..io import sha256_file
from ..models import SentimentNet
from ..models.weight_drop import add_weight_dropout, remove_weight_dropout
from ..text.batching import collate
from ..text.tokenizer import OOV_ID, TextTokenizer
from .batching import bucketed_batches
from .callbacks import Callback, Checkpointing, EarlyStopping, GradualUnfreezing, History
from .device import resolve_device, to_device
from .distributed import current
from .gradient_flow import GradientReach
from .loop import StepOutput, TrainingLoop, evaluate_in_batches
from .objectives import adversarial_loss, distillation_loss, entropy, virtual_adversarial_loss


@dataclass
class Encoded:
    """Token ids per review and integer targets."""

    sequences: list[np.ndarray]
    targets: np.ndarray
    pad_to: int | None = None  # tokenizer.padding = "max_length": pad every batch to this width

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(s) for s in self.sequences), dtype=np.int64, count=len(self.sequences))


@dataclass
class TeacherAnswers:
    """A teacher's class probabilities for the training reviews and the unlabeled ones, row for row."""

    train: np.ndarray
    unlabeled: np.ndarray | None = None


class ClassificationTask:
    """Cross-entropy on labelled reviews in length-bucketed batches, plus the objectives that
    training asks for (adversarial, virtual adversarial, entropy minimisation, distillation;
    objectives.py), the last three also on a stream of unlabeled reviews; validation loss and accuracy."""

    def __init__(self, train: Encoded, val: Encoded | None, config: TrainingConfig, rank: int = 0, world_size: int = 1,
                 unlabeled: list[np.ndarray] | None = None, teacher: TeacherAnswers | None = None):
        self.train, self.val, self.config = train, val, config
        self.rank, self.world_size = rank, world_size
        self.train_lengths = train.lengths
        self.train_targets = torch.from_numpy(train.targets)
        self.unlabeled = unlabeled if unlabeled and config.uses_unlabeled else None
        self.teacher = teacher if config.distills else None
        if self.teacher is not None:
            self.teacher_train = torch.from_numpy(self.teacher.train)
            self.teacher_unlabeled = (torch.from_numpy(self.teacher.unlabeled)
                                      if self.teacher.unlabeled is not None else None)
        if self.unlabeled is not None:
            self.unlabeled_lengths = np.fromiter((len(s) for s in self.unlabeled), dtype=np.int64,
                                                 count=len(self.unlabeled))
        self._unlabeled_epoch: tuple[int, list[np.ndarray]] | None = None

    def batches(self, epoch: int) -> list[np.ndarray]:
        """This rank's batches. `batch_size` is the global batch: each of N ranks takes 1/N of it,
        so N processes make the same number of updates of the same size as one process."""
        per_rank = max(1, self.config.batch_size // self.world_size)
        return bucketed_batches(self.train_lengths, per_rank, self.config.bucket_batches * self.world_size,
                                self.config.seed + epoch, self.rank, self.world_size)

    def unlabeled_batch(self, step: int, epoch: int) -> np.ndarray:
        """The unlabeled batch of a step: length-bucketed like the labelled ones, in an order that
        is a pure function of the epoch (exact resume), cycled when the stream is shorter."""
        if self._unlabeled_epoch is None or self._unlabeled_epoch[0] != epoch:
            size = max(1, (self.config.unlabeled_batch_size or self.config.batch_size) // self.world_size)
            batches = bucketed_batches(self.unlabeled_lengths, size, self.config.bucket_batches * self.world_size,
                                       self.config.seed + 7919 * (epoch + 1), self.rank, self.world_size)
            self._unlabeled_epoch = (epoch, batches)
        batches = self._unlabeled_epoch[1]
        return batches[step % len(batches)]

    def train_step(self, model: SentimentNet, index: np.ndarray, run: TrainingLoop) -> StepOutput:
        cfg, device = self.config, run.device
        tokens, lengths = collate(self.train.sequences, index, self.train.pad_to)
        n_tokens = int(lengths.sum())
        tokens, lengths = to_device(tokens, device), to_device(lengths, device)
        targets = to_device(self.train_targets[index], device)
        adversarial = cfg.adversarial_weight > 0
        with run.autocast():
            x, mask = model.embed(tokens, lengths)
            if adversarial and not x.requires_grad:  # frozen embeddings: the perturbation still needs a gradient
                x.requires_grad_()
            logits = model.forward_embedded(x, lengths, mask)
        logits = logits.float()
        loss = model.loss(logits, targets)
        parts: dict[str, torch.Tensor] = {}
        total = loss
        if adversarial or cfg.uses_unlabeled:
            parts["cross_entropy"] = loss
        if adversarial:
            with run.autocast():
                parts["adversarial"] = adversarial_loss(model, x, lengths, mask, loss, targets, cfg.adversarial_epsilon)
            total = total + cfg.adversarial_weight * parts["adversarial"]
        if cfg.virtual_adversarial_weight > 0:
            with run.autocast():
                parts["virtual_adversarial"] = virtual_adversarial_loss(
                    model, x, lengths, mask, model.probabilities(logits).detach(), cfg.virtual_adversarial_epsilon,
                    cfg.virtual_adversarial_xi)
            total = total + cfg.virtual_adversarial_weight * parts["virtual_adversarial"]
        if self.teacher is not None:
            parts["distillation"] = distillation_loss(model, logits, to_device(self.teacher_train[index], device),
                                                      cfg.distillation_temperature)
            total = total + cfg.distillation_weight * parts["distillation"]
        if self.unlabeled is not None:
            total = total + self._unlabeled_terms(model, run, parts)
        with torch.no_grad():
            correct = (model.probabilities(logits).argmax(dim=-1) == targets).sum()
        return StepOutput(total, len(index), len(index), n_tokens, correct, parts)

    def _unlabeled_terms(self, model: SentimentNet, run: TrainingLoop, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        """VAT, entropy minimisation and distillation on this step's unlabeled batch."""
        cfg, device = self.config, run.device
        batch = self.unlabeled_batch(run.step, run.epoch)
        tokens, lengths = collate(self.unlabeled, batch)
        tokens, lengths = to_device(tokens, device), to_device(lengths, device)
        total = torch.zeros((), device=device)
        with run.autocast():
            x, mask = model.embed(tokens, lengths)
            logits = model.forward_embedded(x, lengths, mask).float()
            proba = model.probabilities(logits)
            if self.teacher is not None and self.teacher_unlabeled is not None:
                parts["distillation_unlabeled"] = distillation_loss(
                    model, logits, to_device(self.teacher_unlabeled[batch], device), cfg.distillation_temperature)
                total = total + cfg.distillation_weight * parts["distillation_unlabeled"]
            if cfg.entropy_weight > 0:
                parts["entropy"] = entropy(proba)
                total = total + cfg.entropy_weight * parts["entropy"]
            if cfg.virtual_adversarial_weight > 0:
                parts["virtual_adversarial_unlabeled"] = virtual_adversarial_loss(
                    model, x, lengths, mask, proba.detach(), cfg.virtual_adversarial_epsilon, cfg.virtual_adversarial_xi)
                total = total + cfg.virtual_adversarial_weight * parts["virtual_adversarial_unlabeled"]
        return total

    def evaluate(self, model: SentimentNet, run: TrainingLoop) -> tuple[float | None, float | None]:
        if self.val is None:
            return None, None
        val, device = self.val, run.device
        targets_all = torch.from_numpy(val.targets)

        def score(index: np.ndarray):
            tokens, lengths = collate(val.sequences, index, val.pad_to)
            with run.autocast():
                logits = model(to_device(tokens, device), to_device(lengths, device))
            logits = logits.float()
            targets = to_device(targets_all[index], device)
            return model.loss(logits, targets) * len(index), (model.probabilities(logits).argmax(dim=-1) == targets).sum()

        loss_sum, correct = evaluate_in_batches(model, val.lengths, self.config.batch_size * 4, score)
        return loss_sum / len(val.targets), correct / len(val.targets)


@dataclass
class TrainedParts:
    tokenizer: TextTokenizer
    network: SentimentNet
    history: History
    info: dict[str, Any]  # what the model folder records about its data and its start


def train_classifier(train_texts: list[str], train_targets: np.ndarray, val_texts: list[str] | None,
                     val_targets: np.ndarray | None, n_classes: int, tokenizer_config: TokenizerConfig,
                     model_config: ModelConfig, training: TrainingConfig, encoder: EncoderFolder | None = None,
                     callbacks: list[Callback] | None = None, checkpoint_dir: str | Path | None = None,
                     resume: bool = False, unlabeled_texts: list[str] | None = None,
                     teacher: TeacherAnswers | None = None) -> TrainedParts:
    """Texts are already cleaned; targets are class indices. `unlabeled_texts` (cleaned) feed the
    objectives that use unlabeled reviews, when training asks for them; `teacher`: a teacher's
    answers for `train_texts` and `unlabeled_texts` (distillation); the vocabulary is learned
    from the labelled training texts only. Under torchrun each rank trains its shard
    (torch.distributed decides the rank)."""
    context = current()
    if training.threads:
        torch.set_num_threads(training.threads)
    torch.manual_seed(training.seed)
    if encoder is not None:  # the encoder's vocabulary: its embedding rows are indexed by it
        tokenizer = TextTokenizer(encoder.tokenizer.backend, tokenizer_config)
    else:
        tokenizer = TextTokenizer.train(train_texts, tokenizer_config)
    pad_to = tokenizer_config.max_length if tokenizer_config.padding == "max_length" else None
    train_data = Encoded(tokenizer.encode(train_texts), train_targets, pad_to)
    val_data = Encoded(tokenizer.encode(val_texts), val_targets, pad_to) if val_texts is not None else None
    check_tokenization(train_texts, train_data.sequences, val_data.sequences if val_data else None)
    unlabeled = tokenizer.encode(unlabeled_texts) if unlabeled_texts and training.uses_unlabeled else None
    network = SentimentNet(model_config, tokenizer.vocab_size, n_classes)
    info: dict[str, Any] = {"n_train": len(train_targets), "n_validation": len(val_targets) if val_data else 0,
                            "tokenized_digest": sequences_digest(train_data.sequences)}
    if unlabeled is not None:
        info["n_unlabeled"] = len(unlabeled)
    if model_config.pretrained_embeddings:
        info["pretrained_embeddings"] = _init_embedding(network, tokenizer, model_config, training.seed)
    if encoder is not None:
        copy_encoder_weights(network, encoder)
        info["init_encoder"] = _encoder_info(encoder)
    if context.world_size > 1:
        torch.manual_seed(training.seed + context.rank)  # same initial weights on every rank, different dropout

    early = EarlyStopping(training.monitor, training.early_stopping_patience)
    reach = GradientReach(train_data.sequences, train_targets, seed=training.seed)
    own: list[Callback] = [early, reach]
    if checkpoint_dir:
        own.append(Checkpointing(Path(checkpoint_dir), early, resume))
    if training.gradual_unfreezing:
        own.append(GradualUnfreezing())
    loop = TrainingLoop(training, [*own, *(callbacks or [])], context.rank, context.world_size)
    add_weight_dropout(network.encoder, model_config.weight_dropout)
    # After DropConnect, not before: moving a recurrent layer whose weights are parametrized draws a
    # fresh mask (RNNBase._apply reads its weights), and seeded runs must draw the same numbers.
    network.to(resolve_device(training.device))
    if context.world_size > 1 and model_config.pretrained_embeddings:
        import torch.distributed as dist

        # every rank starts from rank 0's vectors, even where ranks on other machines trained their own
        dist.broadcast(network.embedding.weight.data, src=0)
    try:
        task = ClassificationTask(train_data, val_data, training, context.rank, context.world_size, unlabeled, teacher)
        history = loop.fit(network, task)
    finally:
        remove_weight_dropout(network.encoder)
    for p in network.parameters():  # frozen vectors too: the saved and served model is a plain network
        p.requires_grad_(True)
    network.cpu().eval()  # prediction, saving and serving run on the CPU copy
    if reach.result is not None:
        info["gradient_reach_after_epoch_1"] = reach.result
    return TrainedParts(tokenizer, network, history, info)


def check_tokenization(texts: list[str], train: list[np.ndarray], val: list[np.ndarray] | None) -> None:
    """Stop before training on what a model cannot learn from: reviews that tokenized into one or
    two long "words" (a script without spaces that no rule split), or validation reviews made
    mostly of words the vocabulary does not know."""
    if not train:
        return
    tokens = float(np.median([len(ids) for ids in train]))
    chars = float(np.median([len(text) for text in texts]))
    if tokens <= 2 and chars >= 20 * tokens:
        raise DataError(f"the median training review is {tokens:g} token(s) but {chars:g} characters long after "
                        f"cleaning: its words are not separated by spaces. Keep \"split_unspaced_scripts\" in "
                        f"text.pipeline (it splits Chinese, Japanese, Thai...), or set tokenizer.kind = \"bpe\"")
    if val:
        total = sum(len(ids) for ids in val)
        unknown = sum(int((ids == OOV_ID).sum()) for ids in val)
        if total >= 200 and unknown > 0.5 * total:
            raise DataError(f"{unknown / total:.0%} of the validation reviews' tokens are not in the vocabulary "
                            f"learned from the training reviews: the two may be in different languages or "
                            f"scripts (see text.language), or the vocabulary is too small (tokenizer.vocab_size, "
                            f"tokenizer.min_frequency)")


def sequences_digest(sequences: list[np.ndarray]) -> str:
    """Content digest of the token ids the model was trained on (the tokenized dataset)."""
    digest = hashlib.sha256()
    for ids in sequences:
        digest.update(ids.astype("<i8").tobytes() + b"\n")
    return digest.hexdigest()


def _init_embedding(network: SentimentNet, tokenizer: TextTokenizer, model_config: ModelConfig,
                    seed: int) -> dict[str, Any]:
    """Copy pretrained word vectors into the embedding (see embeddings.py); freeze if asked."""
    from ..embeddings import embedding_matrix

    matrix, info = embedding_matrix(tokenizer.backend.get_vocab(), model_config.pretrained_embeddings,
                                    model_config.embedding_dim, seed)
    with torch.no_grad():
        network.embedding.weight.copy_(torch.from_numpy(matrix))
    network.embedding.weight.requires_grad_(not model_config.freeze_embeddings)
    return info


def copy_encoder_weights(network: torch.nn.Module, encoder: EncoderFolder) -> None:
    """Embedding and recurrent layers from the encoder; the classifier's head stays as initialised."""
    from ..errors import ModelError

    wanted = {k: v for k, v in encoder.weights.items() if k.startswith(("embedding.", "encoder."))}
    own = network.state_dict()
    mismatched = [k for k, v in wanted.items() if k not in own or own[k].shape != v.shape]
    if mismatched or not wanted:
        raise ModelError(f"{encoder.path}: encoder weights do not fit this classifier ({mismatched[:3]} ...)")
    network.load_state_dict(wanted, strict=False)


def _encoder_info(encoder: EncoderFolder) -> dict[str, Any]:

    return {"path": str(encoder.path), "direction": encoder.lm.direction,
            "sha256": sha256_file(encoder.path / "encoder.safetensors"), "lm_history": encoder.history}
