"""Separate towers: one deep network per task from the inputs, nothing shared.

    l_j = tower_j(x)

Beyond the paper: the multi-task models' no-sharing end, which tells what
SEQ gains from processing the inputs per task (its per-task token MLPs)
from what it gains from sharing (the recurrent network passing h^{j-1} down
the funnel). Each task's tower is an MLP of `tower_units` ending in a logit;
with MD on the input every tower reads MD's output, the one shared part.
"""

from typing import Dict, List, Sequence

from seqmd_tf.keras_compat import keras
from seqmd_tf.models.base import build_ranker, model_input
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.towers import tower_logits


def build_separate_towers(config: ModelConfig, feature_config: List[Dict],
                          tasks: Sequence[str],
                          mask_feature: str) -> keras.Model:
  k = len(tasks)

  def task_logits(groups):
    return tower_logits(model_input(config, groups), config, k,
                        shared_input=True)

  return build_ranker(config, feature_config, tasks, mask_feature, task_logits,
                      descending_default=False)
