"""Data-parallel training with PyTorch's own engine, launched by torchrun:

    torchrun --nproc-per-node 2 -m sentiment_rnn train --archive ... --out DIR
    torchrun --nnodes 2 --node-rank 0 --rdzv-backend c10d --rdzv-endpoint HOST:29400 \\
             --nproc-per-node 8 -m sentiment_rnn train ...

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them this is a no-op (one process).
Each rank trains on its own shard of the length-bucketed batches (`bucketed_batches(rank=…)`),
gradients are averaged with all-reduce after every backward pass, epoch metrics are summed across
ranks, and only rank 0 writes checkpoints, the model folder and the MLflow run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup() -> Distributed:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed()
    import torch
    import torch.distributed as dist

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Distributed(dist.get_rank(), dist.get_world_size())


def current() -> Distributed:
    """This process's rank and the world size, as torch.distributed sees them (one process when
    no process group is set up)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return Distributed(dist.get_rank(), dist.get_world_size())
    return Distributed()


def teardown(context: Distributed) -> None:
    if context.world_size > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()  # rank 0 has finished writing before anyone leaves
            dist.destroy_process_group()
