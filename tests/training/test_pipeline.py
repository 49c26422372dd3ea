import dataclasses
import json
import os

import pytest

from seqmd_tf.models import ModelConfig
from seqmd_tf.training import pipeline, resume
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
  # Early stopping ended it: done, so its backup is gone (a capped run's
  # stays: test_a_run_its_cap_ended_continues_to_a_higher_cap).
  assert not pipeline.completed_epochs(str(tmp_path / "backup"))


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


def test_a_run_its_cap_ended_continues_to_a_higher_cap(tmp_path, tiny_data,
                                                     schema, monkeypatch):
  """The epoch cap ends a run with its backup kept: the same run with a
  higher cap trains only the epochs after it, and keeps the whole history;
  other settings in that folder are refused, naming them. (Exact equality
  with one longer run: test_crashes.py.)"""
  import tensorflow as tf
  config = TrainConfig(epochs=1, batch_size=64, early_stopping_patience=0,
                       tasks=["click", "purchase"])
  args = (schema, _files(tiny_data, "train"), _files(tiny_data, "valid"),
          str(tmp_path))
  first = pipeline.train(*args, SMALL_MODEL, config, verbose=0)
  assert first["summary"]["stop_reason"] == "epoch cap"
  assert pipeline.completed_epochs(str(tmp_path / "backup")) == 1
  wider = ModelConfig(**dict(SMALL, bottom_units=[24]))
  with pytest.raises(ValueError, match=r"holds a run to resume .*"
                                       r"model.bottom_units"):
    pipeline.train(*args, wider, config, verbose=0)
  started = []

  class CountEpochs(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
      started.append(epoch)

  original = pipeline.SeqMDPipeline.build_callbacks
  monkeypatch.setattr(pipeline.SeqMDPipeline, "build_callbacks",
                      lambda self: original(self) + [CountEpochs()])
  more = dataclasses.replace(config, epochs=2)
  result = pipeline.train(*args, SMALL_MODEL, more, verbose=0)
  assert started == [1]  # the first epoch came from the backup
  assert result["summary"]["epochs_run"] == 2
  # the first epoch's time, kept for the run's whole time
  seconds = resume.epoch_seconds(str(tmp_path))
  assert first["summary"]["seconds_before_resume"] == 0.0 and len(seconds) == 2
  assert result["summary"]["resumed_after"] == 1
  assert result["summary"]["seconds_before_resume"] == round(seconds[0], 1) > 0
  assert result["summary"]["history"]["loss"][0] == \
      first["summary"]["history"]["loss"][0]
  # Capped again (no patience): a lower cap than its 2 epochs is refused.
  with pytest.raises(ValueError, match="of 2 epochs, more than the epoch cap"):
    pipeline.train(*args, SMALL_MODEL, config, verbose=0)


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
