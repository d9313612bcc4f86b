"""Models: the recurrent encoder, pooling, and the classifier network that joins them."""

from .network import SentimentNet

__all__ = ["SentimentNet"]
