"""Builds any registered multi-task model, with or without MD, from a config.

Every builder has the signature (config, feature_config, tasks, mask_feature)
and returns a Keras model with the shared output contract: a dict
{task: log-probability [B, L]}.
"""

import dataclasses
from typing import Callable, Dict, List, Sequence, Tuple

from seqmd_tf.keras_compat import keras
from seqmd_tf.models.adatt import build_adatt
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.mmoe import build_mmoe
from seqmd_tf.models.ple import build_ple
from seqmd_tf.models.separate_towers import build_separate_towers
from seqmd_tf.models.seq import build_seq_model
from seqmd_tf.models.shared_bottom import build_shared_bottom


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  builder: Callable[..., keras.Model]
  md_modes: Tuple[str, ...]
  region_standardize: bool = False   # needs per-region training statistics
  md_default: str = "input"          # what a bare `--md` means for this model
  description: str = ""


MODELS: Dict[str, ModelSpec] = {
    "seq": ModelSpec(build_seq_model, ("none", "input", "per_task"),
                     md_default="per_task",
                     description="SEQ (+MD per task = SEQ+MD, Fig. 3(b))"),
    "shared_bottom": ModelSpec(build_shared_bottom, ("none", "input"),
                               description="Shared-Bottom, the 0% reference"),
    "shared_bottom_region_norm": ModelSpec(
        build_shared_bottom, ("none", "input"), region_standardize=True,
        description="Shared-Bottom with per-region standardized dependent "
                    "features (MD's honest competitor; with --md input, MD "
                    "over the standardized features, beyond the paper)"),
    "mmoe": ModelSpec(build_mmoe, ("none", "input"),
                      description="ML-MMoE (multi-level MMoE)"),
    "ple": ModelSpec(build_ple, ("none", "input"),
                     description="PLE (progressive layered extraction)"),
    "adatt": ModelSpec(build_adatt, ("none", "input"),
                       description="AdaTT-sp (task-specific experts, fusion "
                                   "gates, native-expert residual)"),
    "separate_towers": ModelSpec(
        build_separate_towers, ("none", "input"),
        description="one deep tower per task from the inputs, nothing shared "
                    "(beyond the paper: per-task processing without "
                    "sharing)"),
}
MODEL_BUILDERS = {name: spec.builder for name, spec in MODELS.items()}


def model_spec(name: str) -> ModelSpec:
  if name not in MODELS:
    raise ValueError(f"unknown model '{name}'; valid choices: "
                     f"{', '.join(sorted(MODELS))}")
  return MODELS[name]


def resolve_config(config: ModelConfig) -> ModelConfig:
  """Validates the model name and MD mode; applies the model's fixed flags."""
  config.validate()
  spec = model_spec(config.name)
  if config.md not in spec.md_modes:
    raise ValueError(f"model '{config.name}' does not support md="
                     f"'{config.md}'; valid choices: {', '.join(spec.md_modes)}")
  if spec.region_standardize and not config.region_standardize:
    config = dataclasses.replace(config, region_standardize=True)
  return config


def build_model(config: ModelConfig, feature_config: List[Dict],
                tasks: Sequence[str], mask_feature: str) -> keras.Model:
  config = resolve_config(config)
  if config.region_standardize and not any("region_mean" in f
                                           for f in feature_config):
    raise ValueError(f"model '{config.name}' standardizes dependent features "
                     "per region, but the feature config has no per-region "
                     "statistics (build it with region statistics)")
  return MODELS[config.name].builder(config, feature_config, list(tasks),
                                     mask_feature)


def custom_objects() -> Dict[str, type]:
  """Every seqmd layer, for `keras.models.load_model`."""
  from seqmd_tf import layers  # pylint: disable=import-outside-toplevel
  return {name: getattr(layers, name) for name in layers.__all__}
