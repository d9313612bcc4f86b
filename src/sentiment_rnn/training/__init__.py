"""Training: length-bucketed batches, the trainer loop, checkpoints and metrics."""
