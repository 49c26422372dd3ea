import json
import os

import pytest

from seqmd_tf.models import ModelConfig
from seqmd_tf.training import pipeline
from seqmd_tf.training.pipeline import TrainConfig
from tests.helpers import SMALL_MODEL as SMALL

SMALL_MODEL = ModelConfig(**SMALL)


def _files(data, split):
  from seqmd_tf.data.synthetic.generate import split_files
  return split_files(data, split)


def test_trained_run_folder(trained_run):
  run = trained_run["run_dir"]
  for name in ("run_config.json", "history.json", "stage.json"):
    assert os.path.exists(os.path.join(run, name))
  with open(os.path.join(run, "history.json")) as f:
    summary = json.load(f)
  assert summary["monitor"] == "val_purchase_ndcg_10"
  assert summary["epochs_run"] == 3
  assert "val_purchase_ndcg_10" in summary["history"]
  with open(os.path.join(run, "run_config.json")) as f:
    config = json.load(f)
  assert config["data"]["generator_version"]
  stats = {f["name"]: f for f in config["feature_config"]}
  assert stats["price_local"]["std"] > 0


def test_early_stopping_really_stops(tmp_path, tiny_data, schema):
  # A learning rate of 0 leaves the validation NDCG flat: with patience 1 the
  # run must stop after epoch 2 of 6.
  config = TrainConfig(epochs=6, learning_rate=1e-12, batch_size=64,
                       early_stopping_patience=1, tasks=["click", "purchase"])
  result = pipeline.train(schema, _files(tiny_data, "train"),
                          _files(tiny_data, "valid"), str(tmp_path),
                          SMALL_MODEL, config, verbose=0)
  assert result["summary"]["epochs_run"] == 2
  assert result["summary"]["stop_reason"] == "patience"


def test_stop_reason_tells_patience_from_the_epoch_cap():
  config = TrainConfig(epochs=5, early_stopping_patience=2)
  assert pipeline.stop_reason([0.1, 0.3, 0.2, 0.2], config) == "patience"
  assert pipeline.stop_reason([0.1, 0.2, 0.3, 0.3, 0.4], config) == "epoch cap"
  # at the cap, but the last 2 epochs did not improve: patience, not the cap
  assert pipeline.stop_reason([0.1, 0.5, 0.3, 0.2, 0.2], config) == "patience"
  no_patience = TrainConfig(epochs=3, early_stopping_patience=0)
  assert pipeline.stop_reason([0.3, 0.2, 0.1], no_patience) == "epoch cap"


def test_missing_monitored_metric_fails_loudly(tmp_path, tiny_data, schema):
  config = TrainConfig(epochs=1, batch_size=64, tasks=["click", "purchase"],
                       monitor_topn=3)  # no NDCG@3 is logged
  with pytest.raises(KeyError, match="val_purchase_ndcg_3"):
    pipeline.train(schema, _files(tiny_data, "train"),
                   _files(tiny_data, "valid"), str(tmp_path), SMALL_MODEL,
                   config, verbose=0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(tasks=["purchase", "click"]), "subsequence"),
    (dict(loss="hinge"), "loss must be"),
    (dict(monitor_task="cart", tasks=["click", "purchase"]), "monitor_task"),
    (dict(epochs=0), "epochs must be"),
])
def test_train_config_is_validated(schema, kwargs, message):
  with pytest.raises(ValueError, match=message):
    TrainConfig(**kwargs).validate(schema)


def test_missing_training_file_is_named(tmp_path, tiny_data, schema):
  config = TrainConfig(epochs=1, tasks=["click", "purchase"])
  with pytest.raises(FileNotFoundError, match="nowhere.tfrecord"):
    pipeline.train(schema, [str(tmp_path / "nowhere.tfrecord")],
                   _files(tiny_data, "valid"), str(tmp_path / "r"),
                   SMALL_MODEL, config, verbose=0)


class _Crash(Exception):
  pass


def test_interrupted_training_resumes_from_backup(tmp_path, tiny_data, schema,
                                                  monkeypatch):
  import tensorflow as tf

  class CrashAtSecondEpoch(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
      if epoch == 1:
        raise _Crash()

  original = pipeline.SeqMDPipeline.build_callbacks
  monkeypatch.setattr(pipeline.SeqMDPipeline, "build_callbacks",
                      lambda self: original(self) + [CrashAtSecondEpoch()])
  config = TrainConfig(epochs=2, batch_size=64, early_stopping_patience=0,
                       tasks=["click", "purchase"])
  args = (schema, _files(tiny_data, "train"), _files(tiny_data, "valid"),
          str(tmp_path), SMALL_MODEL, config)
  with pytest.raises(_Crash):
    pipeline.train(*args, verbose=0)
  assert os.path.isdir(tmp_path / "backup")
  started = []

  class CountEpochs(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
      started.append(epoch)

  monkeypatch.setattr(pipeline.SeqMDPipeline, "build_callbacks",
                      lambda self: original(self) + [CountEpochs()])
  result = pipeline.train(*args, verbose=0)
  # Only the second epoch ran after the restart: the first came from backup.
  assert started == [1]
  # The history is the whole run's: the epoch before the crash is kept.
  assert result["summary"]["epochs_run"] == 2


@pytest.mark.parametrize("list_size", [None, 12])
def test_cached_parsed_lists_give_the_streamed_batches(tiny_data, schema,
                                                       list_size):
  """Parsing once and caching the lists gives, batch for batch, what
  parsing every epoch gives: same seeded order, same padding, in two
  epochs (the cache serves the second)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  tasks = ["click", "cart", "purchase"]
  built = {}
  for cache in (False, True):
    config = TrainConfig(batch_size=16, seed=5, list_size=list_size,
                         deterministic=True, cache_parsed=cache, tasks=tasks)
    source = pipeline.ElwcFiles(schema, _files(tiny_data, "train")[:2],
                                _files(tiny_data, "valid"), config)
    builder = pipeline.SeqMDDatasetBuilder(schema, tasks, source, config)
    train = builder.build_train_dataset()
    built[cache] = [list(train), list(train),
                    list(builder.build_valid_dataset())]
  for streamed, cached in zip(built[False], built[True]):
    assert len(streamed) == len(cached) > 1
    for (f1, l1), (f2, l2) in zip(streamed, cached):
      assert sorted(f1) == sorted(f2) and sorted(l1) == sorted(l2)
      for key in f1:
        np.testing.assert_array_equal(f1[key].numpy(), f2[key].numpy(), key)
      for key in l1:
        np.testing.assert_array_equal(l1[key].numpy(), l2[key].numpy(), key)
  # The two epochs differ (the seeded shuffle moves on), in both paths.
  first, second = built[True][0][0][1], built[True][1][0][1]
  assert any(not np.array_equal(first[k], second[k]) for k in first)
