"""Shared fixtures: one tiny synthetic dataset, one trained model, one
evaluation and one export per test run, so the suite trains once. Under
pytest-xdist the first worker that needs one makes it, under a file lock,
and the other workers reuse it from disk."""

import os

import pytest

from tests.helpers import made_once

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TINY_WORLD = dict(queries_per_day=400, train_days=3, valid_days=1, test_days=1,
                  shard_queries=200)


@pytest.fixture(scope="session")
def schema():
  from seqmd_tf.data.schema import load_schema
  return load_schema()


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory, schema):
  from seqmd_tf.data.synthetic.generate import generate
  from seqmd_tf.data.synthetic.world import WorldConfig

  def make(out):
    generate(out, WorldConfig(**TINY_WORLD), seed=7, schema=schema,
             progress=False)
    return out
  return made_once(tmp_path_factory, "tiny_data", make)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_data):
  from pipelines import stages
  from seqmd_tf.models import ModelConfig
  from seqmd_tf.training.pipeline import TrainConfig

  def make(run_dir):
    model_config = ModelConfig(token_hidden_units=[16], token_dim=8,
                               rnn_units=8, rnn_layers=1,
                               md_mask_hidden_units=[8], md_transform_units=[8])
    train_config = TrainConfig(epochs=3, batch_size=32, learning_rate=3e-3,
                               early_stopping_patience=0, seed=1)
    stages.train_stage(tiny_data, run_dir, model_config, train_config,
                       verbose=0)
    return dict(run_dir=run_dir)
  return made_once(tmp_path_factory, "run", make)


@pytest.fixture(scope="session")
def evaluation(tmp_path_factory, tiny_data, trained_run):
  from pipelines import stages

  def make(out):
    return stages.evaluate_stage(tiny_data, trained_run["run_dir"], out,
                                 min_region_lists=20, bootstrap_samples=200,
                                 progress=False)
  return made_once(tmp_path_factory, "evaluation", make)


@pytest.fixture(scope="session")
def exported(tmp_path_factory, trained_run):
  from pipelines import stages
  return made_once(tmp_path_factory, "export", lambda base: stages.export_stage(
      trained_run["run_dir"], base, version=3))


@pytest.fixture(scope="session")
def impressions(tiny_data, schema):
  """The tiny dataset's train and valid groups as one row-per-impression
  table (about 230 lists): input for the convert, TFDS and safety tests."""
  from seqmd_tf.data.synthetic.generate import split_files
  from seqmd_tf.data.tables import elwc_to_frame
  files = split_files(tiny_data, "train")[:2] + split_files(tiny_data, "valid")
  return elwc_to_frame(files, schema)
