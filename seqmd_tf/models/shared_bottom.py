"""Shared-Bottom (Caruana 1997): one shared MLP, then a tower per task.

    h = MLP_bottom(x);  l_j = tower_j(h)

The paper's 0% reference. With `region_standardize`, the dependent features
are standardized per region with training-split statistics: MD's honest
competitor (`shared_bottom_region_norm` in the registry).
"""

from typing import Dict, List, Sequence

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers import MLP
from seqmd_tf.models.base import build_ranker, model_input
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.towers import tower_logits


def build_shared_bottom(config: ModelConfig, feature_config: List[Dict],
                        tasks: Sequence[str], mask_feature: str) -> keras.Model:
  k = len(tasks)

  def task_logits(groups):
    bottom = MLP(config.bottom_units, output_activation="relu",
                 name="shared_bottom")(model_input(config, groups))
    return tower_logits(bottom, config, k, shared_input=True)

  return build_ranker(config, feature_config, tasks, mask_feature, task_logits,
                      descending_default=False)
