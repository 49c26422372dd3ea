"""Builds any registered multi-task model from a `ModelConfig`.

Every builder has the signature (config, feature_config, tasks, mask_feature)
and returns a Keras model with the shared output contract: a dict
{task: log-probability [B, L]}.
"""

from typing import Callable, Dict, List, Sequence

from seqmd_tf.keras_compat import keras
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.seq import build_seq_model

MODEL_BUILDERS: Dict[str, Callable[..., keras.Model]] = {
    "seq": build_seq_model,
}


def build_model(config: ModelConfig, feature_config: List[Dict],
                tasks: Sequence[str], mask_feature: str) -> keras.Model:
  config.validate()
  if config.name not in MODEL_BUILDERS:
    raise ValueError(f"unknown model '{config.name}'; registered models: "
                     f"{sorted(MODEL_BUILDERS)}")
  return MODEL_BUILDERS[config.name](config, feature_config, list(tasks),
                                     mask_feature)


def custom_objects() -> Dict[str, type]:
  """Every seqmd layer, for `keras.models.load_model`."""
  from seqmd_tf import layers  # pylint: disable=import-outside-toplevel
  return {name: getattr(layers, name) for name in layers.__all__}
