"""Callbacks that fail loudly, and how a run's end is described."""

import json
import os
from typing import Sequence

import tensorflow as tf

from seqmd_tf.paths import write_json


class StrictEarlyStopping(tf.keras.callbacks.EarlyStopping):
  """EarlyStopping that raises, instead of warning, when its metric is absent."""

  def get_monitor_value(self, logs):
    logs = logs or {}
    if self.monitor not in logs:
      raise KeyError(f"early stopping monitors '{self.monitor}', which is not "
                     f"among the logged metrics {sorted(logs)}")
    return logs[self.monitor]


class StrictModelCheckpoint(tf.keras.callbacks.ModelCheckpoint):
  """ModelCheckpoint that raises when the monitored metric is absent, and
  keeps its best value in `<filepath>.json`, so a resumed run (after a
  crash) compares against the best epoch before the crash."""

  def on_train_begin(self, logs=None):
    super().on_train_begin(logs)
    try:
      with open(self.filepath + ".json", "r", encoding="utf-8") as f:
        self.best = json.load(f)["best"]
    except (OSError, ValueError, KeyError):
      pass

  def on_epoch_end(self, epoch, logs=None):
    if self.monitor not in (logs or {}):
      raise KeyError(f"checkpointing monitors '{self.monitor}', which is not "
                     f"among the logged metrics {sorted(logs or {})}")
    super().on_epoch_end(epoch, logs)
    if os.path.isdir(os.path.dirname(self.filepath)):
      write_json(self.filepath + ".json", dict(best=float(self.best),
                                                epoch=epoch))


def best_epoch(monitored: Sequence[float]) -> int:
  """The 1-based epoch of the best validation monitor (the first, on ties)."""
  return int(max(range(len(monitored)), key=monitored.__getitem__)) + 1


def stop_reason(monitored: Sequence[float], config) -> str:
  """Why training ended: "patience" when the validation monitor had not
  improved for `early_stopping_patience` epochs (so more epochs were not
  needed), "epoch cap" otherwise (it may still have been improving)."""
  patience = config.early_stopping_patience
  return ("patience" if patience and
          len(monitored) - best_epoch(monitored) >= patience else "epoch cap")
