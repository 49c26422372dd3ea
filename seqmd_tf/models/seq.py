"""SEQ and SEQ+MD: multi-task learning as a sequence (paper section 3)."""

from typing import Dict, List, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers import (DescendingProbability, FeaturePreprocessor,
                             MultiDistributionAdaptor, SequentialTaskNetwork,
                             TaskColumn, TaskTokenizer)
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.inputs import ranking_inputs


def build_seq_model(config: ModelConfig, feature_config: List[Dict],
                    tasks: Sequence[str], mask_feature: str) -> keras.Model:
  """Scores every listing of a list for every task.

  md="none":     tokens = TaskTokenizer(concat(dependent, invariant))
  md="input":    tokens = TaskTokenizer(MD(country, dependent, invariant))
  md="per_task": tokens_j = concat(MLP^j(invariant), MLP_trans(m_c^j * dep))
                 (Fig. 3(b))
  then logits = SequentialTaskNetwork(tokens) and
  log y~ = DescendingProbability(logits).

  Output: {task: log-probability [B, L]}.
  """
  inputs = ranking_inputs(feature_config, mask_feature)
  groups = FeaturePreprocessor(feature_config, mask_feature,
                               name="features")(inputs)
  k = len(tasks)
  tokenizer = TaskTokenizer(k, config.token_hidden_units, config.token_dim,
                            name="task_tokenizer")
  if config.md == "per_task":
    tokens = tokenizer(groups["invariant"])
    dependent = MultiDistributionAdaptor(
        config.md_mask_hidden_units, config.md_transform_units, num_tasks=k,
        name="md_adaptor")(groups)
    tokens = tf.concat([tokens, dependent], axis=-1)
  elif config.md == "input":
    x = MultiDistributionAdaptor(config.md_mask_hidden_units,
                                 config.md_transform_units,
                                 name="md_adaptor")(groups)
    tokens = tokenizer(x)
  else:
    tokens = tokenizer(tf.concat([groups["dependent"], groups["invariant"]],
                                 axis=-1))
  logits = SequentialTaskNetwork(config.rnn_units, config.rnn_layers,
                                 config.rnn_cell, name="sequential_tasks")(tokens)
  log_probs = DescendingProbability(config.descending_probability,
                                    name="descending_probability")(logits)
  outputs = {task: TaskColumn(i, name=task)(log_probs)
             for i, task in enumerate(tasks)}
  return keras.Model(inputs=inputs, outputs=outputs,
                     name=f"{config.name}_md_{config.md}")
