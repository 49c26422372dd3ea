"""Task towers: one MLP per task ending in a logit."""

import tensorflow as tf

from seqmd_tf.layers import ParallelMLP
from seqmd_tf.models.config import ModelConfig


def tower_logits(x: tf.Tensor, config: ModelConfig, num_tasks: int,
                 shared_input: bool = False) -> tf.Tensor:
  """Logits [..., k] from per-task inputs [..., k, d] (row j feeds task j's
  tower) or, with `shared_input`, from one input [..., d] that every tower
  reads (computed as one matmul for the towers' first layer)."""
  towers = ParallelMLP(num_tasks, list(config.tower_units) + [1],
                       per_branch_input=not shared_input, name="task_towers")
  return tf.squeeze(towers(x), axis=-1)
