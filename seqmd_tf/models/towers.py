"""Task towers: one MLP per task ending in a logit."""

import tensorflow as tf

from seqmd_tf.layers import ParallelMLP
from seqmd_tf.models.config import ModelConfig


def tower_logits(per_task: tf.Tensor, config: ModelConfig,
                 num_tasks: int) -> tf.Tensor:
  """[..., k, d] (row j for task j) -> logits [..., k]."""
  towers = ParallelMLP(num_tasks, list(config.tower_units) + [1],
                       per_branch_input=True, name="task_towers")
  return tf.squeeze(towers(per_task), axis=-1)
