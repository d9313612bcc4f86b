"""A teacher for distillation: a trained model folder that answers once, before training, with its
class probabilities for the student's (cleaned) training and unlabeled reviews.

It reads the folder itself (folder.py) and scores on an inference engine (inference.py), so the
recipe never needs the estimator that sits above it. A teacher reads the same cleaned texts as its
student through its own vocabulary, so its cleaning must be the student's.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import TextConfig
from ..errors import ConfigError, DataError
from ..folder import ModelFolder, read_model_folder
from ..inference import make_engine, score_sequences
from ..io import sha256_file
from ..text.cleaning import Cleaner
from ..text.pipeline import TextPipeline


@dataclass
class TeacherAnswers:
    """A teacher's class probabilities for the training reviews and the unlabeled ones, row for row."""

    train: np.ndarray
    unlabeled: np.ndarray | None = None


class Teacher:
    """One trained model folder, ready to answer: its vocabulary and network on the default engine."""

    def __init__(self, path: str):
        self.path = path
        self.folder: ModelFolder = read_model_folder(path)
        self.pipeline = TextPipeline(Cleaner.from_config(self.folder.text), self.folder.tokenizer)
        self.engine = make_engine(self.folder.network, "auto")

    def answers(self, cleaned_texts: list[str]) -> np.ndarray:
        """Class probabilities for texts already cleaned as this teacher cleans."""
        pipeline = self.pipeline
        return score_sequences(self.engine, pipeline.tokenizer.encode(cleaned_texts), len(self.folder.classes),
                               pipeline.pad_to)

    def check_fits(self, text: TextConfig, classes: list[str]) -> None:
        """Refuse a teacher that knows other classes, or cleans reviews differently from its student."""
        folder = self.folder
        if list(folder.classes) != list(classes):
            raise DataError(f"training.teacher {self.path}: its classes {list(folder.classes)} are not this data's "
                            f"{list(classes)}")
        # Compared by what the cleaning does, not by how it is spelled ("auto" in an older folder reads as English).
        ours, theirs = Cleaner.from_config(text), self.pipeline.cleaner
        differing = [name for name, same in (("text.pipeline", list(ours.pipeline) == list(theirs.pipeline)),
                                             ("text.stopwords/text.language", ours.stop == theirs.stop)) if not same]
        if differing:
            raise ConfigError(f"training.teacher {self.path}: its text settings differ from this model's in "
                              f"{', '.join(differing)} (a teacher reads the same cleaned reviews as its student: "
                              f"copy its [text] section: {json.dumps(dataclasses.asdict(folder.text))})")


def teacher_answers(teacher: str | list[str], text: TextConfig, classes: list[str], texts: list[str],
                    unlabeled: list[str] | None) -> tuple[TeacherAnswers, dict[str, Any]]:
    """The teachers' answers for the (cleaned) training and unlabeled texts, averaged when there are
    several (an ensemble as teacher), and what the model folder records of them."""
    started = time.perf_counter()
    paths = [teacher] if isinstance(teacher, str) else list(teacher)
    train_sum, unlabeled_sum, recorded = None, None, []
    for path in paths:
        model = Teacher(path)
        model.check_fits(text, classes)
        train = model.answers(texts)
        train_sum = train if train_sum is None else train_sum + train
        if unlabeled:
            answers = model.answers(unlabeled)
            unlabeled_sum = answers if unlabeled_sum is None else unlabeled_sum + answers
        recorded.append({"path": str(Path(path).resolve()), "sha256": sha256_file(Path(path) / "model.safetensors"),
                         "engine": model.engine.name})
    n = len(paths)
    result = TeacherAnswers(train_sum / n, unlabeled_sum / n if unlabeled_sum is not None else None)
    info = {**(recorded[0] if n == 1 else {"ensemble": recorded}), "n_answers": len(texts) + len(unlabeled or []),
            "seconds": round(time.perf_counter() - started, 1)}
    return result, info
