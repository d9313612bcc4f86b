"""sentiment-rnn: recurrent sentiment classifiers from raw reviews to a saved, reloadable model.

Importing this package is light: torch loads with the classifier, MLflow never on this path.
"""

from .classifier import SentimentClassifier
from .config import DataConfig, ExperimentConfig, ModelConfig, TextConfig, TokenizerConfig, TrainingConfig
from .errors import ConfigError, DataError, DownloadError, ModelError, SentimentRNNError
from .version import __version__

__all__ = [
    "ConfigError",
    "DataConfig",
    "DataError",
    "DownloadError",
    "ExperimentConfig",
    "ModelConfig",
    "ModelError",
    "SentimentClassifier",
    "SentimentRNNError",
    "TextConfig",
    "TokenizerConfig",
    "TrainingConfig",
    "__version__",
]
