"""AdaTT-sp: adaptive task-to-task fusion, task-specific experts only
(Li et al., KDD 2023).

Every task has `num_task_experts` experts per level, reading that task's
representation. Each task's fusion gate takes every expert's output (all
tasks'), and the native-expert residual adds the task's own experts back:

    E_t   = Experts_t(h_t)                              (nt experts per task)
    h_t'  = softmax(G_t h_t) . [E_1, ..., E_k] + R_t(E_t)
    R_t(E_t) = E_t                                      if nt = 1
             = sum_i w_{t,i} E_{t,i} (learned w)        otherwise
    l_t   = tower_t(h_t) after the last level
"""

from typing import Dict, List, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers import MixtureGate, ParallelMLP
from seqmd_tf.models.base import build_ranker, model_input
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.towers import tower_logits


@keras.utils.register_keras_serializable(package="seqmd")
class NativeExpertResidual(keras.layers.Layer):
  """R_t: a learned linear combination of each task's own experts.

  Shapes: experts [..., k * nt, d] -> [..., k, d]. With nt = 1 it is the
  identity (AdaTT's unit native weight).
  """

  def __init__(self, num_tasks: int, num_task_experts: int, **kwargs):
    super().__init__(**kwargs)
    self.num_tasks = int(num_tasks)
    self.num_task_experts = int(num_task_experts)

  def build(self, input_shape):
    scale = (1.0 / self.num_task_experts) ** 0.5
    self.weight = None
    if self.num_task_experts > 1:
      self.weight = self.add_weight(
          name="native_weights",
          shape=(self.num_tasks, self.num_task_experts),
          initializer=keras.initializers.RandomUniform(-scale, scale))
    super().build(input_shape)

  def call(self, experts):
    """Args: experts [..., k * nt, d], the task experts in task order.
    Returns: [..., k, d], each task's native-expert residual."""
    if self.weight is None:
      return experts
    shape = tf.concat([tf.shape(experts)[:-2],
                       [self.num_tasks, self.num_task_experts,
                        tf.shape(experts)[-1]]], axis=0)
    grouped = tf.reshape(experts, shape)
    return tf.reduce_sum(self.weight[:, :, None] * grouped, axis=-2)

  def get_config(self):
    config = super().get_config()
    config.update(num_tasks=self.num_tasks,
                  num_task_experts=self.num_task_experts)
    return config


def build_adatt(config: ModelConfig, feature_config: List[Dict],
                tasks: Sequence[str], mask_feature: str) -> keras.Model:
  k, nt = len(tasks), config.num_task_experts

  def task_logits(groups):
    x = model_input(config, groups)
    task_h = x  # every task's representation: [..., d] at the first level
    for level in range(config.num_levels):
      shared = level == 0  # all tasks read x: shared-input ops, no repeat
      experts = ParallelMLP(k * nt, config.expert_units, output_activation="relu",
                            per_branch_input=not shared, name=f"experts_{level}")(
                                task_h if shared else tf.repeat(task_h, nt, axis=-2))
      fused = MixtureGate(k, per_gate_input=not shared,
                          name=f"fusion_gates_{level}")((task_h, experts))
      task_h = fused + NativeExpertResidual(k, nt, name=f"native_{level}")(
          experts)                                          # [..., k, d']
    return tower_logits(task_h, config, k)

  return build_ranker(config, feature_config, tasks, mask_feature, task_logits,
                      descending_default=False)
