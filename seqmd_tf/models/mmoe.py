"""ML-MMoE: multi-level multi-gate mixture of experts.

Every level has `num_experts` shared experts. Between levels, shared gates
(one per next-level expert) mix the experts into that expert's input; only
the top level has task-specific gates (paper section 4.1: "except for the
top task-specific gates, all other experts and gates are shared"):

    level 1:  e^1_i = Expert^1_i(x)
    level l:  e^l_i = Expert^l_i( sum_j softmax(G^{l-1}_i x)_j e^{l-1}_j )
    top:      h_t   = sum_j softmax(G_t x)_j e^L_j ;  l_t = tower_t(h_t)

Reference: Ma et al., KDD 2018 (MMoE), with shared gates between levels.
"""

from typing import Dict, List, Sequence

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers import MixtureGate, ParallelMLP
from seqmd_tf.models.base import build_ranker, model_input
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.towers import tower_logits


def build_mmoe(config: ModelConfig, feature_config: List[Dict],
               tasks: Sequence[str], mask_feature: str) -> keras.Model:
  k, n = len(tasks), config.num_experts

  def task_logits(groups):
    x = model_input(config, groups)
    experts = ParallelMLP(n, config.expert_units, output_activation="relu",
                          name="experts_0")(x)
    for level in range(1, config.num_levels):
      mixed = MixtureGate(n, name=f"shared_gates_{level - 1}")((x, experts))
      experts = ParallelMLP(n, config.expert_units, output_activation="relu",
                            per_branch_input=True,
                            name=f"experts_{level}")(mixed)
    per_task = MixtureGate(k, name="task_gates")((x, experts))
    return tower_logits(per_task, config, k)

  return build_ranker(config, feature_config, tasks, mask_feature, task_logits,
                      descending_default=False)
