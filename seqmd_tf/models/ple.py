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
    task_h = [x] * k     # task t's representation, [..., d]
    shared_h = x
    for level in range(config.num_levels):
      top = level == config.num_levels - 1
      task_e = _task_experts(task_h, level)                   # [..., k*nt, d']
      shared_e = ParallelMLP(ns, config.expert_units, output_activation="relu",
                             name=f"shared_experts_{level}")(shared_h)
      own = tf.split(task_e, k, axis=-2)
      mixed = [MixtureGate(1, name=f"gate_{level}_{tasks[t]}")(
          (task_h[t], tf.concat([own[t], shared_e], axis=-2)))
               for t in range(k)]  # task t: its own experts and the shared
      if not top:
        shared_h = tf.squeeze(MixtureGate(1, name=f"shared_gate_{level}")(
            (shared_h, tf.concat([task_e, shared_e], axis=-2))), axis=-2)
      task_h = [tf.squeeze(m, axis=-2) for m in mixed]
    return tower_logits(tf.stack(task_h, axis=-2), config, k)

  def _task_experts(task_h, level):
    """Every task's nt experts, each reading its task's representation. At
    the first level all tasks read the same input: one shared-input op.
    (Splits and stacks, not slices: a slice's gradient writes a whole
    zero tensor per slice.)"""
    shared = level == 0
    experts = ParallelMLP(k * nt, config.expert_units, output_activation="relu",
                          per_branch_input=not shared,
                          name=f"task_experts_{level}")
    if shared:
      return experts(task_h[0])
    return experts(tf.repeat(tf.stack(task_h, axis=-2), nt, axis=-2))

  return build_ranker(config, feature_config, tasks, mask_feature, task_logits,
                      descending_default=False)
