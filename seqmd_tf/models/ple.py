"""PLE: progressive layered extraction (Tang et al., RecSys 2020).

Each level has task-specific experts for every task and shared experts. The
gate of task t mixes only task t's experts and the shared experts, reading
task t's representation; a shared gate (all but the top level) mixes every
expert into the shared representation:

    E_t = TaskExperts_t(h_t),  E_s = SharedExperts(h_s)
    h_t' = Gate_t(h_t) . [E_t, E_s]        h_s' = Gate_s(h_s) . [E_1..E_k, E_s]
    l_t  = tower_t(h_t) after the last level
"""

from typing import Dict, List, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers import MixtureGate, ParallelMLP
from seqmd_tf.models.base import build_ranker, model_input
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.towers import tower_logits


def build_ple(config: ModelConfig, feature_config: List[Dict],
              tasks: Sequence[str], mask_feature: str) -> keras.Model:
  k = len(tasks)
  nt, ns = config.num_task_experts, config.num_shared_experts

  def task_logits(groups):
    x = model_input(config, groups)
    task_h = tf.repeat(tf.expand_dims(x, -2), k, axis=-2)   # [..., k, d]
    shared_h = x
    for level in range(config.num_levels):
      top = level == config.num_levels - 1
      task_in = tf.repeat(task_h, nt, axis=-2)               # [..., k*nt, d]
      task_e = ParallelMLP(k * nt, config.expert_units, output_activation="relu",
                           per_branch_input=True,
                           name=f"task_experts_{level}")(task_in)
      shared_e = ParallelMLP(ns, config.expert_units, output_activation="relu",
                             name=f"shared_experts_{level}")(shared_h)
      mixed = []
      for t in range(k):  # task t sees its own experts and the shared ones
        own = task_e[..., t * nt:(t + 1) * nt, :]
        mixed.append(MixtureGate(1, name=f"gate_{level}_{tasks[t]}")(
            (task_h[..., t, :], tf.concat([own, shared_e], axis=-2))))
      new_task_h = tf.concat(mixed, axis=-2)                  # [..., k, d']
      if not top:
        shared_h = MixtureGate(1, name=f"shared_gate_{level}")(
            (shared_h, tf.concat([task_e, shared_e], axis=-2)))[..., 0, :]
      task_h = new_task_h
    return tower_logits(task_h, config, k)

  return build_ranker(config, feature_config, tasks, mask_feature, task_logits,
                      descending_default=False)
