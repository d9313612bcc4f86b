"""What long commands show on the terminal: a tqdm bar over training steps with one line per
epoch, a download bar, and the library's INFO messages as plain lines."""

from __future__ import annotations

import logging
import sys


def show_library_notes() -> None:
    """The library's INFO messages (e.g. "training word vectors ...") as plain lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("sentiment_rnn")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


class TrainingProgress:
    """tqdm bar over all steps, with loss and reviews/s; one summary line per epoch."""

    def __init__(self):
        self.bar = None

    def on_train_start(self, loop):
        from tqdm import tqdm

        self.bar = tqdm(total=loop.total_steps, initial=loop.start_epoch * loop.steps_per_epoch, unit="step",
                        dynamic_ncols=True, file=sys.stderr)
        self.reviews = 0

    def on_epoch_start(self, loop, epoch):
        pass

    def on_step(self, loop, record):
        self.bar.update(1)
        self.reviews += record.reviews
        if record.step % 10 == 0:
            rate = self.reviews / max(self.bar.format_dict["elapsed"], 1e-9)
            self.bar.set_postfix(epoch=record.epoch + 1, loss=f"{record.loss:.3f}", reviews_s=f"{rate:.0f}")

    def on_epoch_end(self, loop, r):
        val = f"val loss {r.val_loss:.4f}  val acc {r.val_accuracy:.4f}" if r.val_loss is not None else "no validation"
        self.bar.write(f"epoch {r.epoch + 1}: train loss {r.train_loss:.4f}  train acc {r.train_accuracy:.4f}  "
                       f"{val}  {r.seconds:.0f} s  {r.reviews_per_s:.0f} reviews/s{'  *best' if r.improved else ''}")

    def on_train_end(self, loop):
        self.bar.close()


class DownloadProgress:
    def __init__(self):
        self.bar = None

    def __call__(self, done, total):
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc="download", file=sys.stderr)
        self.bar.n = done
        self.bar.refresh()
