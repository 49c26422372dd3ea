"""The scaffold every multi-task ranker shares (the "task architecture"
interface): inputs -> FeaturePreprocessor -> the real listings [N, d] ->
[MD] -> task architecture -> per-task logits [N, k] ->
[DescendingProbability] -> back to the list slots [B, L, k] -> {task: log-prob}.

A model file only supplies its task architecture: a function mapping the
feature groups of N listings, each [N, d], to logits [N, k]. It runs on the
real listings only: padded slots cost nothing, and they get the log-
probability `PADDING_LOG_PROB` (probability 0) for every task.
"""

from typing import Callable, Dict, List, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers import (DescendingProbability, FeaturePreprocessor,
                             GatherListings, MultiDistributionAdaptor,
                             ScatterListings, TaskColumn)
from seqmd_tf.layers.listings import PADDING_LOG_PROB
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.inputs import ranking_inputs


def check_md_possible(config: ModelConfig, feature_config: List[Dict]) -> None:
  if config.md == "none":
    return
  groups = {f["group"] for f in feature_config}
  for needed in ("country", "dependent"):
    if needed not in groups:
      raise ValueError(
          f"MD (--md {config.md}) needs at least one feature with "
          f"md_group={needed} in the schema, and there is none; valid choices "
          "here: --md none, or mark features in data_schema/schema.pbtxt")


def model_input(config: ModelConfig, groups: Dict[str, tf.Tensor]) -> tf.Tensor:
  """[N, d]: all features, or MD's transformed input (Fig. 4)."""
  if config.md == "input":
    return MultiDistributionAdaptor(config.md_mask_hidden_units,
                                    config.md_transform_units,
                                    country_shift=config.md_country_shift,
                                    country_rate_multiplier=(
                                        config.md_country_rate_multiplier),
                                    name="md_adaptor")(groups)
  return tf.concat([groups["dependent"], groups["invariant"]], axis=-1)


def build_ranker(config: ModelConfig, feature_config: List[Dict],
                 tasks: Sequence[str], mask_feature: str,
                 task_logits: Callable[[Dict[str, tf.Tensor]], tf.Tensor],
                 descending_default: bool) -> keras.Model:
  """Wraps a task architecture into a ranking model with the output contract.

  `task_logits(groups)` returns logits [N, k] from the feature groups of the
  N real listings of the batch, each [N, d].
  The descending-probability product is on when the config says so, and
  otherwise follows the model's own default.
  """
  check_md_possible(config, feature_config)
  inputs = ranking_inputs(feature_config, mask_feature)
  groups = FeaturePreprocessor(feature_config, mask_feature,
                               name="features")(inputs)
  mask = inputs[mask_feature]
  logits = task_logits(GatherListings(name="real_listings")((groups, mask)))
  descending = (descending_default if config.descending_probability is None
                else config.descending_probability)
  log_probs = DescendingProbability(descending,
                                    name="descending_probability")(logits)
  log_probs = ScatterListings(PADDING_LOG_PROB, name="list_slots")(
      (log_probs, mask))
  outputs = {task: TaskColumn(i, name=task)(log_probs)
             for i, task in enumerate(tasks)}
  return keras.Model(inputs=inputs, outputs=outputs,
                     name=f"{config.name}_md_{config.md}")
