"""One classifier training, in two steps (the initialize-then-train split of spaCy's `init_nlp` →
`train`):

- `plan` makes every decision once, before any weight moves: the settings as they will be saved
  (a pretrained encoder's cleaning, vocabulary and layers; the language read from the texts; "auto"
  word vectors made concrete), the cleaning of every text, the classes, the validation split,
  whether unlabeled reviews are read, the teacher's answers, and what the model folder will record
  of its data.
- `fit` carries the plan out on the one training loop: vocabulary, encoding, the network and its
  start (vectors, encoder weights), DropConnect, the loop with early stopping and checkpoints.

Under torchrun the choices that concern the ranks are made here too: rank 0 learns the vectors
while the others wait, every rank starts from rank 0's embedding, and each draws its own dropout.

    plan = recipe.plan(settings, Reviews(texts, labels, "mine"))
    parts = recipe.fit(plan)          # tokenizer, network, history, what the folder records

`SentimentClassifier.fit` and `pipeline.train` are thin callers of these two.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import ClassifierSettings, ModelConfig, TextConfig, TokenizerConfig, TrainingConfig
from ..data.dataset import Reviews
from ..errors import ConfigError, DataError, ModelError
from ..folder import EncoderFolder, encoder_settings, read_encoder_folder
from ..io import sha256_file
from ..models import SentimentNet
from ..models.weight_drop import weight_dropout
from ..text.cleaning import Cleaner
from ..text.tokenizer import OOV_ID, TextTokenizer
from .callbacks import Callback, Checkpointing, EarlyStopping, GradualUnfreezing, History
from .classification import ClassificationTask, Encoded, network_logits
from .device import resolve_device
from .distributed import current
from .baseline import UNSPACED_LANGUAGES
from .gradient_flow import GradientReach
from .loop import TrainingLoop
from .teacher import TeacherAnswers, teacher_answers
from .int8_gate import int8_gate
from .wide import fit_wide


@dataclass
class Plan:
    """Every decision of one training, made before it starts."""

    text: TextConfig  # the settings as the model folder will record them
    tokenizer: TokenizerConfig
    model: ModelConfig
    training: TrainingConfig
    classes: list[str]
    multilabel: bool  # several labels per review: a sigmoid per label, a threshold per label
    train: Reviews  # cleaned; labels as class names (a list of them per review when multi-label)
    validation: Reviews | None  # cleaned; None: no early stopping, the last epoch is kept
    unlabeled: list[str] | None  # cleaned; read only when the vectors or an objective use them
    encoder: EncoderFolder | None = None
    teacher: TeacherAnswers | None = None
    info: dict[str, Any] = field(default_factory=dict)  # what the model folder records of its data
    # The datasets behind the cleaned texts, for tracking: raw and cleaned (their cache file, reused or not).
    lineage: dict[str, Any] = field(default_factory=dict)

    @property
    def sections(self) -> dict[str, Any]:
        """The settings saved with the model, by section name."""
        return {"text": self.text, "tokenizer": self.tokenizer, "model": self.model, "training": self.training}


@dataclass
class TrainedParts:
    tokenizer: TextTokenizer
    network: SentimentNet
    history: History
    info: dict[str, Any]  # the plan's info and what training added (vocabulary, gradient reach)
    baseline: dict[str, Any] | None = None  # the linear baseline on the same validation part
    thresholds: dict[str, float] | None = None  # multi-label: each label's decision threshold


# ---- plan -----------------------------------------------------------------------------------------

def unlabeled_uses(model: ModelConfig, training: TrainingConfig) -> list[str]:
    """What unlabeled reviews would be used for, and what is lost without them: "auto" word vectors
    (unless an encoder brings its embedding; without unlabeled reviews they are learned from the
    labelled ones alone) and the objectives that train on them. Empty: training reads none."""
    uses = []
    if model.pretrained_embeddings == "auto" and not model.init_encoder:
        uses.append("the word vectors are learned from the labelled reviews alone")
    if training.uses_unlabeled:
        uses.append("virtual adversarial training runs on the labelled batches only, and entropy minimisation "
                    "and distillation on unlabeled reviews not at all")
    return uses


def plan(settings: ClassifierSettings, train: Reviews, *, validation: Reviews | None = None,
         unlabeled: Reviews | None = None, cache: bool = False) -> Plan:
    """Decide a training of `settings` on raw `train` reviews. Without `validation`,
    `training.val_fraction` of `train` is held out, stratified and seeded. `unlabeled`: raw reviews
    without labels, used where `unlabeled_uses` says. `cache`: clean through the dataset cache
    (data/derived.py), keyed by content digest."""
    text, tokenizer, model, training = settings.text, settings.tokenizer, settings.model, settings.training
    encoder = None
    if model.init_encoder:  # its cleaning, vocabulary and recurrent layers replace ours
        encoder = read_encoder_folder(model.init_encoder)
        tokenizer, model = encoder_settings(encoder.lm, encoder.tokenizer_config, tokenizer, model)
        text = encoder.text
    text = text.for_texts(train.texts)  # language "auto": read from the training texts' script
    if model.ngrams == "auto":  # word pairs; character triples where the tokens are characters
        model = dataclasses.replace(model, ngrams=3 if text.language in UNSPACED_LANGUAGES else 2)
    if model.cell == "none":  # the wide part alone: no embedding to start, no gradient training
        if training.uses_unlabeled or training.adversarial_weight:
            raise ConfigError("model.cell = 'none' (the wide part alone) is fitted by logistic regression, not by "
                              "gradient: set training.virtual_adversarial_weight, entropy_weight and "
                              "adversarial_weight to 0 and training.teacher to \"\"")
        model = dataclasses.replace(model, pretrained_embeddings="")
    train = dataclasses.replace(train, labels=_names(_labels(train)))
    multilabel = train.multilabel
    classes = natural_order(set(train.class_counts()))
    if len(classes) < 2:
        raise DataError(f"fit needs at least two classes, got {classes}", source=train.source)
    if multilabel and (training.uses_unlabeled or training.adversarial_weight):
        raise ConfigError("multi-label targets (several labels per review) train with binary cross-entropy only: "
                          "set training.virtual_adversarial_weight, entropy_weight and adversarial_weight to 0 and "
                          "training.teacher to \"\"")
    lineage: dict[str, Any] = {"raw": train}
    cleaned_train = _cleaned(train, text, cache, lineage, "cleaned")
    train_part, val_part = _split(cleaned_train, validation, text, training)
    # The same partition of the raw texts (the split reads only labels and seed), for the baseline.
    lineage["raw_parts"] = _split(train, validation, None, training)
    if val_part is not None:
        unknown = sorted(set(val_part.class_counts()) - set(classes))
        if unknown:
            raise DataError(f"validation labels contain class(es) {unknown} that the model does not know; its "
                            f"classes are {classes}")

    info: dict[str, Any] = {"source": train.source, "digest": train.digest, "cleaned_digest": cleaned_train.digest,
                            "class_counts": train.class_counts(), "dropped": dict(train.dropped)}
    uses = unlabeled_uses(model, training)
    unlabeled_texts = None
    if uses and unlabeled is not None:
        info["unlabeled"] = {"source": unlabeled.source, "digest": unlabeled.digest, "rows": len(unlabeled)}
        unlabeled_texts = _cleaned(unlabeled, text, cache, lineage, "unlabeled").texts
    elif training.uses_unlabeled:  # an objective loses part of its data; vectors do with the labelled reviews
        warnings.warn(f"no unlabeled reviews (give --unlabeled-file, = data.unlabeled_file): {'; '.join(uses)}",
                      stacklevel=3)

    model, vectors = _vectors(model, settings, encoder, train_part, val_part, unlabeled_texts)
    if vectors is not None:
        info["vectors"] = vectors
    if model.freeze_embeddings == "auto":  # fixed: vectors from a file or learned with unlabeled reviews
        from_labelled_alone = vectors is not None and not unlabeled_texts
        model = dataclasses.replace(model, freeze_embeddings=bool(model.pretrained_embeddings)
                                    and not from_labelled_alone)
    teacher = None
    if training.distills:
        teacher, info["teacher"] = teacher_answers(training.teacher, text, classes, train_part.texts, unlabeled_texts)
    return Plan(text, tokenizer, model, training, classes, multilabel, train_part, val_part, unlabeled_texts, encoder,
                teacher, info, lineage)


def _names(labels: list) -> list:
    """Labels as class names (strings); a multi-label row's labels as a sorted list of names."""
    if labels and isinstance(labels[0], (list, tuple)):
        return [sorted({str(label) for label in row}) for row in labels]
    return [str(label) for label in labels]


def _labels(reviews: Reviews) -> list:
    if reviews.labels is None:
        raise DataError("these reviews have no labels", source=reviews.source)
    if len(reviews.labels) != len(reviews.texts):
        raise DataError(f"fit got {len(reviews.texts)} texts but {len(reviews.labels)} labels")
    return reviews.labels


def natural_order(labels: set[str]) -> list[str]:
    """Numeric labels in numeric order ("2" before "10"), others alphabetically."""
    if all(label.lstrip("-").isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def _cleaned(reviews: Reviews, text: TextConfig, cache: bool, lineage: dict[str, Any], name: str) -> Reviews:
    if not cache:
        return dataclasses.replace(reviews, texts=Cleaner.from_config(text).many(reviews.texts))
    from ..data.derived import prepare_cleaned

    cleaned, path, reused = prepare_cleaned(reviews, text)
    lineage[name] = {"reviews": cleaned, "file": path, "reused": reused}
    return cleaned


def _split(train: Reviews, validation: Reviews | None, text: TextConfig | None,
           training: TrainingConfig) -> tuple[Reviews, Reviews | None]:
    """(training part, validation part or None), the validation part cleaned by `text` if given."""
    if validation is not None:
        validation = dataclasses.replace(validation, labels=_names(_labels(validation)))
        if text is not None:
            validation = dataclasses.replace(validation, texts=Cleaner.from_config(text).many(validation.texts))
    elif training.val_fraction > 0:
        train, validation = train.split_stratified(training.val_fraction, training.seed)
    if validation is not None and len(validation) == 0:
        fraction = training.val_fraction
        per_class = next(n for n in range(1, 10**7) if round(n * fraction) >= 1) if fraction else 1
        raise DataError(f"no review is left for validation ({len(train)} reviews, training.val_fraction "
                        f"= {training.val_fraction}): give at least {per_class} reviews per class, or set "
                        f"training.val_fraction = 0 (no early stopping; the last epoch is kept)")
    return train, validation


def _vectors(model: ModelConfig, settings: ClassifierSettings, encoder: EncoderFolder | None, train: Reviews,
             validation: Reviews | None, unlabeled: list[str] | None) -> tuple[ModelConfig, dict | None]:
    """`model.pretrained_embeddings = "auto"` made concrete: the cached vectors' file, learned from
    the unlabeled reviews (if any) and every labelled review, or "" (a random start) when those are
    fewer than `embeddings.min_reviews`. The labelled reviews come in sorted order, so the corpus
    (and the cache key) does not depend on the seed that split training from validation. Test
    reviews never reach a plan."""
    if model.pretrained_embeddings != "auto":
        return model, None
    if encoder is not None:  # the encoder brings its own embedding
        return dataclasses.replace(model, pretrained_embeddings=""), None
    from ..embeddings import cached_vectors

    corpus = [*(unlabeled or []), *sorted([*train.texts, *(validation.texts if validation is not None else [])])]
    wanted = settings.embeddings.min_reviews
    if len(corpus) < wanted:
        what = "unlabeled + training reviews" if unlabeled else "training reviews (and no unlabeled ones)"
        return _random_start(model, f"{len(corpus)} {what} are too few to learn word vectors from "
                                    f"(embeddings.min_reviews = {wanted})")
    context = current()
    if context.world_size > 1 and context.rank != 0:
        _barrier()  # under torchrun rank 0 learns the vectors once; the others then find them cached
    try:
        path, info = cached_vectors(corpus, settings.embeddings.for_model(model))
    except DataError as exc:  # e.g. no word frequent enough
        return _random_start(model, str(exc))
    finally:
        if context.world_size > 1 and context.rank == 0:
            _barrier()
    return dataclasses.replace(model, pretrained_embeddings=str(path)), {"used": True, **info}


def _random_start(model: ModelConfig, why: str) -> tuple[ModelConfig, dict]:
    """No vectors after all: a random start, said in a warning and recorded with the model."""
    warnings.warn(f"the embedding starts random: {why}", stacklevel=5)
    return dataclasses.replace(model, pretrained_embeddings=""), {"used": False, "why": why}


def _barrier() -> None:
    import torch.distributed as dist

    dist.barrier()


# ---- fit ------------------------------------------------------------------------------------------

def fit(plan: Plan, callbacks: list[Callback] | None = None, checkpoint_dir: str | Path | None = None,
        resume: bool = False) -> TrainedParts:
    """Train the planned network. The vocabulary is learned from the training part only (or is the
    encoder's); under torchrun each rank trains its shard (torch.distributed decides the rank)."""
    training, model_config, tokenizer_config = plan.training, plan.model, plan.tokenizer
    context = current()
    if training.threads:
        torch.set_num_threads(training.threads)
    torch.manual_seed(training.seed)
    if plan.encoder is not None:  # the encoder's vocabulary: its embedding rows are indexed by it
        tokenizer = TextTokenizer(plan.encoder.tokenizer.backend, tokenizer_config)
    else:
        tokenizer = TextTokenizer.train(plan.train.texts, tokenizer_config)
    pad_to = tokenizer_config.max_length if tokenizer_config.padding == "max_length" else None
    train = Encoded(tokenizer.encode(plan.train.texts), targets(plan.train.labels, plan.classes), pad_to)
    val = (Encoded(tokenizer.encode(plan.validation.texts), targets(plan.validation.labels, plan.classes), pad_to)
           if plan.validation is not None else None)
    check_tokenization(plan.train.texts, train.sequences, val.sequences if val else None)
    unlabeled = tokenizer.encode(plan.unlabeled) if plan.unlabeled and training.uses_unlabeled else None
    network = SentimentNet(model_config, tokenizer.vocab_size, len(plan.classes), multilabel=plan.multilabel)
    info = _recorded(plan, train, val, unlabeled)
    from ..model_card import cpu_name

    info["machine"] = f"{cpu_name()}, {os.cpu_count()} cores"  # beside every speed the folder records
    if model_config.pretrained_embeddings:
        info["pretrained_embeddings"] = _init_embedding(network, tokenizer, model_config, training.seed)
        if "vectors" in plan.info:
            info["pretrained_embeddings"]["auto"] = plan.info["vectors"]
    elif "vectors" in plan.info:
        info["pretrained_embeddings"] = {"auto": plan.info["vectors"]}
    if plan.encoder is not None:
        copy_encoder_weights(network, plan.encoder)
        info["init_encoder"] = _encoder_info(plan.encoder)
    if context.world_size > 1:
        torch.manual_seed(training.seed + context.rank)  # same initial weights on every rank, different dropout

    early = EarlyStopping(training.monitor, training.early_stopping_patience)
    reach = GradientReach(train.sequences, train.targets, seed=training.seed)
    own: list[Callback] = [early, reach]
    if checkpoint_dir:
        own.append(Checkpointing(Path(checkpoint_dir), early, resume))
    if training.gradual_unfreezing:
        own.append(GradualUnfreezing())
    loop = TrainingLoop(training, [*own, *(callbacks or [])], context.rank, context.world_size)
    network.to(resolve_device(training.device))
    if context.world_size > 1 and model_config.pretrained_embeddings:
        import torch.distributed as dist

        # every rank starts from rank 0's vectors, even where ranks on other machines learned their own
        dist.broadcast(network.embedding.weight.data, src=0)
    pos_weight = _positive_weights(train.targets, training) if plan.multilabel else None
    task = ClassificationTask(train, val, training, context.rank, context.world_size, unlabeled, plan.teacher,
                              pos_weight.to(resolve_device(training.device)) if pos_weight is not None else None)
    if network.recurrent:
        with weight_dropout(network.encoder, model_config.weight_dropout), network.without_wide():
            history = loop.fit(network, task)
    else:
        history = History()  # the wide part alone: no epochs, fitted below
    for p in network.parameters():  # frozen vectors too: the saved and served model is a plain network
        p.requires_grad_(True)
    network.cpu().eval()  # prediction, saving and serving run on the CPU copy
    if reach.result is not None:
        info["gradient_reach_after_epoch_1"] = reach.result
    if network.wide is not None:  # fitted on the trained recurrent part, joined on validation
        info["wide"] = fit_wide(network, train, val, balanced=training.class_weights == "balanced")
    if training.calibrate and val is not None:  # before the thresholds, which read the final probabilities
        info["calibration"] = calibrate(network, val)
    baseline = (_baseline(plan, history, info.get("wide")) if training.baseline and context.rank == 0
                and not plan.multilabel else None)
    thresholds = None
    if plan.multilabel:
        thresholds, info["val_macro_f1"] = label_thresholds(network, val, plan.classes)
    if val is not None and context.rank == 0:
        from ..inference import onnx_available

        if onnx_available():  # without ONNX Runtime there is no int8 engine to gate
            info["int8"] = int8_gate(network, val, [thresholds[c] for c in plan.classes] if thresholds else None,
                                     training.int8_max_accuracy_drop)
    return TrainedParts(tokenizer, network, history, info, baseline, thresholds)


MIN_CALIBRATION_ERRORS = 10


def calibrate(network: SentimentNet, val: Encoded) -> dict[str, Any]:
    """Temperature scaling on the validation part (calibration.py): T fitted, the network's output
    layers divided by it, and the validation figures before and after (with the diagram's bins)."""
    from ..calibration import fit_temperature, reliability_bins, report

    logits = network_logits(network, val)
    kind = "multilabel" if network.multilabel else "binary" if logits.shape[1] == 1 else "multiclass"
    errors = int(len(val.targets) - network.correct(logits, torch.from_numpy(val.targets)))
    figures: dict[str, Any] = {"fitted_on": "validation", "bins": {}}
    if errors < MIN_CALIBRATION_ERRORS:  # no mistakes to learn confidence from: NLL falls as T → 0
        temperature = 1.0
        figures["skipped"] = (f"{errors} wrong validation answers (fewer than {MIN_CALIBRATION_ERRORS}): the "
                              f"likelihood would only sharpen the model")
    else:
        temperature = fit_temperature(logits.numpy(), val.targets, kind)
        network.scale_logits(1 / temperature)
    figures["temperature"] = round(temperature, 4)
    for name, scaled in (("before", logits), ("after", logits / temperature)):
        proba = network.probabilities(scaled).numpy()
        figures[f"validation_{name}"] = report(proba, val.targets, network.multilabel)
        figures["bins"][name] = reliability_bins(proba, val.targets, network.multilabel)
    return figures


def _positive_weights(targets: np.ndarray, training: TrainingConfig) -> torch.Tensor | None:
    """training.class_weights = "balanced": each label's negative rows per positive row."""
    if training.class_weights == "none":
        return None
    positives = targets.sum(axis=0)
    return torch.from_numpy(((len(targets) - positives) / np.maximum(positives, 1)).astype(np.float32))


# 0.05 steps, and finer below 0.05: a rare label's best threshold is often under it (on GoEmotions
# 4 to 6 of 28 labels sat at a 0.05 floor)
THRESHOLD_GRID = np.round(np.r_[0.01, 0.02, 0.03, 0.04, np.arange(0.05, 0.951, 0.05)], 2)


def label_thresholds(network: SentimentNet, val: Encoded | None,
                     classes: list[str]) -> tuple[dict[str, float], float | None]:
    """Each label's threshold, the one of THRESHOLD_GRID with the best F1 for that label on the
    validation part (0.5 without validation, or for a label validation never shows); and the
    validation macro-F1 at those thresholds (None without validation)."""
    if val is None:
        return {label: 0.5 for label in classes}, None
    from ..inference import TorchEngine, score_sequences

    proba = score_sequences(TorchEngine(network), val.sequences, len(classes), val.pad_to)
    thresholds, best_f1 = {}, []
    for k, label in enumerate(classes):
        truth = val.targets[:, k] > 0.5
        if not truth.any():
            thresholds[label] = 0.5
            best_f1.append(0.0)  # as metrics.multilabel_report counts a label with no support
            continue
        predicted = proba[:, k][None, :] >= THRESHOLD_GRID[:, None]  # (thresholds, rows)
        hits = (predicted & truth).sum(axis=1)
        f1 = 2 * hits / np.maximum(predicted.sum(axis=1) + truth.sum(), 1)
        thresholds[label] = float(THRESHOLD_GRID[int(f1.argmax())])
        best_f1.append(float(f1.max()))
    return thresholds, float(np.mean(best_f1))


def _baseline(plan: Plan, history: History, wide: dict[str, Any] | None) -> dict[str, Any] | None:
    """The linear baseline on the same parts (raw texts), beside the network's validation accuracy
    (its best epoch's, joined with the wide part if it has one); a warning when it scores higher."""
    from .baseline import linear_baseline

    raw_train, raw_val = plan.lineage["raw_parts"]
    if raw_val is None or not len(raw_val):
        return None
    result = linear_baseline(raw_train.texts, raw_train.labels, raw_val.texts, raw_val.labels, plan.classes,
                             plan.text.language)
    best = next((e for e in history.epochs if e.epoch == history.best_epoch), None)
    network_accuracy = wide["val_accuracy_joined"] if wide and "val_accuracy_joined" in wide else (
        best.val_accuracy if best is not None else None)
    if result is not None and network_accuracy is not None:
        result["network_val_accuracy"] = network_accuracy
        if result["val_accuracy"] > network_accuracy:
            warnings.warn(f"the linear baseline (TF-IDF + logistic regression, {result['features']}) scores "
                          f"{result['val_accuracy']:.4f} on validation, above the network's {network_accuracy:.4f}: "
                          f"on this data the recurrent model does not earn its place yet (more labelled or "
                          f"unlabeled text, or another configuration, may change that)", stacklevel=4)
    return result


def _recorded(plan: Plan, train: Encoded, val: Encoded | None, unlabeled: list[np.ndarray] | None) -> dict[str, Any]:
    """What the model folder records of its data: the plan's, and the encoded sets' sizes and digest."""
    info = {key: value for key, value in plan.info.items() if key != "vectors"}
    info.update(n_train=len(train.targets), n_validation=len(val.targets) if val else 0,
                tokenized_digest=sequences_digest(train.sequences))
    if unlabeled is not None:
        info["n_unlabeled"] = len(unlabeled)
    return info


def targets(labels: list, classes: list[str]) -> np.ndarray:
    """Class indices (n,), or multi-hot rows (n, classes) when each review has a list of labels."""
    index = {c: i for i, c in enumerate(classes)}
    if labels and isinstance(labels[0], list):
        hot = np.zeros((len(labels), len(classes)), dtype=np.float32)
        for row, names in enumerate(labels):
            hot[row, [index[name] for name in names]] = 1.0
        return hot
    return np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))


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
    wanted = {k: v for k, v in encoder.weights.items() if k.startswith(("embedding.", "encoder."))}
    own = network.state_dict()
    mismatched = [k for k, v in wanted.items() if k not in own or own[k].shape != v.shape]
    if mismatched or not wanted:
        raise ModelError(f"{encoder.path}: encoder weights do not fit this classifier ({mismatched[:3]} ...)")
    network.load_state_dict(wanted, strict=False)


def _encoder_info(encoder: EncoderFolder) -> dict[str, Any]:
    return {"path": str(encoder.path), "direction": encoder.lm.direction,
            "sha256": sha256_file(encoder.path / "encoder.safetensors"), "lm_history": encoder.history}
