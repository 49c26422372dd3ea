"""Keras inputs of a ranking model: context [B, 1], example [B, L, 1], mask."""

from typing import Dict, List

import tensorflow as tf

from seqmd_tf.keras_compat import keras

_DTYPES = {"float": tf.float32, "int": tf.int64, "string": tf.string}


def ranking_inputs(feature_config: List[Dict], mask_feature: str
                   ) -> Dict[str, tf.Tensor]:
  inputs = {}
  for f in feature_config:
    shape = (1,) if f["part"] == "context" else (None, 1)
    inputs[f["name"]] = keras.Input(shape=shape, dtype=_DTYPES[f["dtype"]],
                                    name=f["name"])
  inputs[mask_feature] = keras.Input(shape=(None,), dtype=tf.bool,
                                     name=mask_feature)
  return inputs
