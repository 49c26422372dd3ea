"""SEQ and SEQ+MD: multi-task learning as a sequence (paper section 3)."""

from typing import Dict, List, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers import (MultiDistributionAdaptor, SequentialTaskNetwork,
                             TaskTokenizer)
from seqmd_tf.models.base import build_ranker, model_input
from seqmd_tf.models.config import ModelConfig


def build_seq_model(config: ModelConfig, feature_config: List[Dict],
                    tasks: Sequence[str], mask_feature: str) -> keras.Model:
  """Scores every listing of a list for every task.

  md="none":     tokens = TaskTokenizer(concat(dependent, invariant))
  md="input":    tokens = TaskTokenizer(MD(country, dependent, invariant))
  md="per_task": tokens_j = concat(MLP^j(invariant), MLP_trans(m_c^j * dep))
                 (Fig. 3(b))
  then logits = SequentialTaskNetwork(tokens); the descending-probability
  product is on by default (Eq. 4).
  """
  k = len(tasks)

  def task_logits(groups):
    tokenizer = TaskTokenizer(k, config.token_hidden_units, config.token_dim,
                              name="task_tokenizer")
    if config.md == "per_task":
      dependent = MultiDistributionAdaptor(
          config.md_mask_hidden_units, config.md_transform_units, num_tasks=k,
          country_shift=config.md_country_shift,
          country_rate_multiplier=config.md_country_rate_multiplier,
          name="md_adaptor")(groups)
      tokens = tf.concat([tokenizer(groups["invariant"]), dependent], axis=-1)
    else:
      tokens = tokenizer(model_input(config, groups))
    return SequentialTaskNetwork(config.rnn_units, config.rnn_layers,
                                 config.rnn_cell,
                                 name="sequential_tasks")(tokens)

  return build_ranker(config, feature_config, tasks, mask_feature, task_logits,
                      descending_default=True)
