"""Early stopping across a crash: a resumed run stops where an uninterrupted
one stops, because the patience already spent is read from the epoch log."""

import csv

import pytest
import tensorflow as tf

from seqmd_tf.training import pipeline
from seqmd_tf.training.callbacks import StrictEarlyStopping
from seqmd_tf.training.config import TrainConfig
from seqmd_tf.training.resume import EPOCH_LOG

MONITOR = "val_purchase_ndcg_10"


def _write_log(path, values):
  with open(path, "w", encoding="utf-8", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["epoch", "loss", MONITOR])
    for epoch, value in enumerate(values):
      writer.writerow([epoch, 1.0, value])


def _epochs_until_stop(callback, first_epoch, values):
  """Feeds `values` as the monitor of epochs first_epoch, ...; returns how
  many ran before the callback stopped training (all of them if never)."""
  model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
  model.stop_training = False
  callback.set_model(model)
  callback.on_train_begin()
  for i, value in enumerate(values):
    callback.on_epoch_end(first_epoch + i, {MONITOR: value})
    if model.stop_training:
      return i + 1
  return len(values)


@pytest.mark.parametrize("before_crash, best, wait", [
    ([0.50, 0.70, 0.60, 0.65], 0.70, 2),   # two epochs waited already
    ([0.50, 0.60, 0.70], 0.70, 0),          # the last epoch was the best
])
def test_resumed_run_keeps_best_and_wait(tmp_path, before_crash, best, wait):
  log = str(tmp_path / EPOCH_LOG)
  _write_log(log, before_crash)
  callback = StrictEarlyStopping(epoch_log=log, monitor=MONITOR, mode="max",
                                 patience=4)
  _epochs_until_stop(callback, len(before_crash), [])
  assert callback.best == pytest.approx(best)
  assert callback.wait == wait
  assert callback.best_epoch == before_crash.index(best)


def test_resumed_run_stops_where_an_uninterrupted_one_does(tmp_path):
  history = [0.50, 0.70, 0.60, 0.65, 0.62, 0.61, 0.69, 0.68]
  uninterrupted = _epochs_until_stop(
      StrictEarlyStopping(monitor=MONITOR, mode="max", patience=4), 0, history)
  assert uninterrupted == 6  # best at epoch 2, then 4 epochs without a gain
  for crash_after in range(1, uninterrupted):
    log = str(tmp_path / f"{crash_after}.csv")
    _write_log(log, history[:crash_after])
    resumed = StrictEarlyStopping(epoch_log=log, monitor=MONITOR, mode="max",
                                  patience=4)
    ran = _epochs_until_stop(resumed, crash_after, history[crash_after:])
    assert crash_after + ran == uninterrupted, crash_after


def test_fresh_run_without_a_log_starts_from_nothing(tmp_path):
  callback = StrictEarlyStopping(epoch_log=str(tmp_path / EPOCH_LOG),
                                 monitor=MONITOR, mode="max", patience=2)
  assert _epochs_until_stop(callback, 0, [0.5, 0.4, 0.3, 0.2]) == 3
  assert callback.best == pytest.approx(0.5)


def test_the_pipeline_gives_early_stopping_the_runs_epoch_log(tmp_path):
  trainer = object.__new__(pipeline.SeqMDPipeline)
  trainer.config = TrainConfig(early_stopping_patience=3,
                               tasks=["click", "purchase"])
  trainer.run_dir = str(tmp_path)
  stopping = [c for c in trainer.build_callbacks()
              if isinstance(c, StrictEarlyStopping)]
  assert len(stopping) == 1
  assert stopping[0].epoch_log == str(tmp_path / EPOCH_LOG)
  assert stopping[0].patience == 3


@pytest.mark.parametrize("stop, epochs_run, cap_was, cap, same", [
    ("epoch cap", 40, 40, 40, True),    # its own cap
    ("patience", 23, 40, 80, True),     # stopped before either cap mattered
    ("patience", 23, 40, 23, True),
    ("patience", 23, 40, 20, False),    # a lower cap would end it sooner
    ("epoch cap", 40, 40, 80, False),   # it may have improved: continue it
    ("epoch cap", 40, 40, 30, False),
    (None, 12, 40, 80, False),          # cached before stops were recorded
])
def test_a_finished_run_holds_under_another_cap_only_if_patience_ended_it(
    stop, epochs_run, cap_was, cap, same):
  assert pipeline.cap_gives_same_run(stop, epochs_run, cap_was, cap) is same
