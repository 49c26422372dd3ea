"""Keras layers of SEQ+MD. No TF-Ranking import here: these load on any TF."""

from seqmd_tf.layers.descending_probability import DescendingProbability
from seqmd_tf.layers.feature_preprocessor import FeaturePreprocessor
from seqmd_tf.layers.listings import GatherListings, ScatterListings
from seqmd_tf.layers.mixture_gate import MixtureGate
from seqmd_tf.layers.mlp import MLP, ParallelMLP
from seqmd_tf.layers.multi_distribution_adaptor import MultiDistributionAdaptor
from seqmd_tf.layers.sequential_task_network import SequentialTaskNetwork
from seqmd_tf.layers.task_column import TaskColumn
from seqmd_tf.layers.task_tokenizer import TaskTokenizer

__all__ = [
    "DescendingProbability", "FeaturePreprocessor", "GatherListings",
    "MixtureGate", "MLP", "ParallelMLP", "MultiDistributionAdaptor",
    "ScatterListings", "SequentialTaskNetwork", "TaskColumn", "TaskTokenizer",
]
