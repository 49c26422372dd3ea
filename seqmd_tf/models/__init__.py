"""Multi-task ranking models behind one registry."""

from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.registry import MODEL_BUILDERS, build_model

__all__ = ["ModelConfig", "MODEL_BUILDERS", "build_model"]
