"""Multi-task ranking models behind one registry."""

from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.registry import (MODEL_BUILDERS, MODELS, build_model,
                                      model_spec, resolve_config)

__all__ = ["ModelConfig", "MODEL_BUILDERS", "MODELS", "build_model",
           "model_spec", "resolve_config"]
