"""Every use of TF-Ranking's private attributes, in one place.

The training subclasses TF-Ranking 0.5.5's `MultiLabelDatasetBuilder` and
`MultiTaskPipeline` and reads state they keep in private attributes: the
dataset builder's feature specs, mask name and hparams, the pipeline's
hparams and builders, and `_features_and_labels`, which splits a parsed
batch into features and labels. (`SeqMDDatasetBuilder` builds its datasets
itself, through public methods: it overrides no private hook.)
Nothing else in the project names them. `check()` verifies that they are
still there and used as this code assumes (`tests/training/test_tfr_adapter.py`
runs it): a new TF-Ranking release, or a move off it, breaks that one test
first, with the missing name in its message.
"""

from typing import Dict, List

import tensorflow as tf
import tensorflow_ranking as tfr

MultiLabelDatasetBuilder = tfr.keras.pipeline.MultiLabelDatasetBuilder
MultiTaskPipeline = tfr.keras.pipeline.MultiTaskPipeline
AbstractModelBuilder = tfr.keras.model.AbstractModelBuilder
DatasetHparams = tfr.keras.pipeline.DatasetHparams
PipelineHparams = tfr.keras.pipeline.PipelineHparams

BUILDER_ATTRIBUTES = ("_hparams", "_context_feature_spec",
                      "_example_feature_spec", "_training_only_example_spec",
                      "_mask_feature_name")
BUILDER_METHODS = ("_features_and_labels",)
PIPELINE_ATTRIBUTES = ("_hparams", "_model_builder", "_dataset_builder")


# -- the dataset builder ------------------------------------------------------
def dataset_hparams(builder):
  """The builder's DatasetHparams (batch sizes, reader, list size)."""
  return builder._hparams  # pylint: disable=protected-access


def set_dataset_reader(builder, reader) -> None:
  """Replaces the function that opens one TFRecord file."""
  builder._hparams.dataset_reader = reader  # pylint: disable=protected-access


def context_spec(builder) -> Dict[str, tf.io.FixedLenFeature]:
  return builder._context_feature_spec  # pylint: disable=protected-access


def example_spec(builder) -> Dict[str, tf.io.FixedLenFeature]:
  return builder._example_feature_spec  # pylint: disable=protected-access


def label_spec(builder) -> Dict[str, tf.io.FixedLenFeature]:
  """The per-listing fields read for training only (the labels)."""
  return builder._training_only_example_spec  # pylint: disable=protected-access


def mask_name(builder) -> str:
  return builder._mask_feature_name  # pylint: disable=protected-access


def features_and_labels(builder, batch):
  """A parsed batch split into (features, {task: labels})."""
  return builder._features_and_labels(batch)  # pylint: disable=protected-access


# -- the pipeline ---------------------------------------------------------------
def pipeline_hparams(pipeline):
  """The pipeline's PipelineHparams (optimizer, rate, loss weights, ...)."""
  return pipeline._hparams  # pylint: disable=protected-access


def model_builder(pipeline):
  return pipeline._model_builder  # pylint: disable=protected-access


def dataset_builder(pipeline):
  return pipeline._dataset_builder  # pylint: disable=protected-access


# -- the check ------------------------------------------------------------------
def check() -> List[str]:
  """What is missing or changed of the internals above, on fresh TF-Ranking
  objects; an empty list when everything is as this module assumes."""
  problems = []
  spec = {"x": tf.io.FixedLenFeature([1], tf.float32, default_value=[0.0])}
  builder = MultiLabelDatasetBuilder(
      spec, spec, "mask", {"y": ("y", tf.io.FixedLenFeature(
          [1], tf.float32, default_value=[0.0]))},
      DatasetHparams(train_input_pattern=["a"], valid_input_pattern=["b"],
                     train_batch_size=2, valid_batch_size=2))
  problems += [f"MultiLabelDatasetBuilder.{a}" for a in BUILDER_ATTRIBUTES
               if not hasattr(builder, a)]
  problems += [f"MultiLabelDatasetBuilder.{m}()" for m in BUILDER_METHODS
               if not callable(getattr(builder, m, None))]
  if hasattr(builder, "_hparams") and not hasattr(builder._hparams,  # pylint: disable=protected-access
                                                  "dataset_reader"):
    problems.append("DatasetHparams.dataset_reader")
  problems += [f"ModelFitPipeline.{a}" for a in PIPELINE_ATTRIBUTES
               if a not in _init_source(MultiTaskPipeline)]
  return problems


def _init_source(cls) -> str:
  import inspect  # pylint: disable=import-outside-toplevel
  return "".join(inspect.getsource(c.__init__) for c in cls.__mro__
                 if "__init__" in vars(c) and c is not object)
