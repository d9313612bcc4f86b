"""Data: the IMDB archive, users' CSV/JSONL/Parquet files, the parsed-dataset cache, and splits."""

from .dataset import Reviews, load_imdb_split, load_labeled_file, load_text_file

__all__ = ["Reviews", "load_imdb_split", "load_labeled_file", "load_text_file"]
