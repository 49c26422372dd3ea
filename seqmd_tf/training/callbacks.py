"""Callbacks that fail loudly, and how a run's end is described."""

import json
import os
import time
from typing import Optional, Sequence

import tensorflow as tf

from seqmd_tf.paths import write_json
from seqmd_tf.training.resume import epoch_history


class StrictEarlyStopping(tf.keras.callbacks.EarlyStopping):
  """EarlyStopping that raises, instead of warning, when its metric is
  absent, and that carries its patience across a crash.

  Args:
    epoch_log: the run's CSV epoch log (`resume.EPOCH_LOG`). A resumed run
      finds in it the epochs finished before the crash: the best value, its
      epoch and the epochs waited since are taken from them, so the run stops
      where an uninterrupted one would. A fresh run has no log (it is
      removed at the start) and starts from nothing.
    **kwargs: those of `tf.keras.callbacks.EarlyStopping`.
  """

  def __init__(self, epoch_log: Optional[str] = None, **kwargs):
    super().__init__(**kwargs)
    self.epoch_log = epoch_log

  def on_train_begin(self, logs=None):
    super().on_train_begin(logs)
    if not (self.epoch_log and os.path.exists(self.epoch_log)):
      return
    monitored = epoch_history(self.epoch_log, epochs=None).get(self.monitor)
    if monitored:  # reliability row 25
      self.best_epoch = best_epoch(monitored) - 1  # 0-based, as Keras counts
      self.best = monitored[self.best_epoch]
      self.wait = len(monitored) - 1 - self.best_epoch

  def get_monitor_value(self, logs):
    logs = logs or {}
    if self.monitor not in logs:
      raise KeyError(f"early stopping monitors '{self.monitor}', which is not "
                     f"among the logged metrics {sorted(logs)}")
    return logs[self.monitor]


class EpochSeconds(tf.keras.callbacks.Callback):
  """Appends each finished epoch's wall seconds (training and validation)
  to the file `path`, one per line (`resume.EPOCH_SECONDS`), so a run
  resumed after a crash, or continued past its epoch cap, still knows the
  time of the epochs it did not train itself (`resume.epoch_seconds`).

  Args:
    path: the file, appended to.
  """

  def __init__(self, path: str):
    super().__init__()
    self.path = path
    self._started = 0.0

  def on_epoch_begin(self, epoch, logs=None):
    self._started = time.time()

  def on_epoch_end(self, epoch, logs=None):
    with open(self.path, "a", encoding="utf-8") as f:
      f.write(f"{time.time() - self._started:.3f}\n")


class CapBackupAndRestore(tf.keras.callbacks.BackupAndRestore):
  """BackupAndRestore that keeps its backup when the epoch cap ended the run.

  Keras deletes the backup when training ends. A run that early stopping
  ended is done, and its backup goes. A run that reached its epoch cap may
  still have been improving: it keeps the backup (weights, optimizer, epoch),
  so training again in its folder with a higher `epochs` continues it from
  its last epoch as one longer run would have gone: the patience count and
  the shuffle order are restored as after a crash (`resume`). A crash keeps
  the backup as before.

  Args:
    **kwargs: those of `tf.keras.callbacks.BackupAndRestore`
      (`delete_checkpoint` is decided at the end of training).
  """

  def on_train_end(self, logs=None):
    self.delete_checkpoint = bool(self.model.stop_training)  # reliability row 26
    super().on_train_end(logs)


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


def cap_gives_same_run(stop_reason: Optional[str], epochs_run: int,
                       cap_was: int, cap: int) -> bool:
  """Whether a finished run is the run an epoch cap of `cap` would give: its
  own cap, or a run that early stopping ended by epoch `cap` (a higher cap
  never mattered to it). A run its cap ended is continued to a higher cap
  (`CapBackupAndRestore`); a lower cap than its epochs is refused while its
  backup is there (`resume.check_resumable`); any other run trains again."""
  return cap == cap_was or (stop_reason == "patience" and epochs_run <= cap)


def stop_reason(monitored: Sequence[float], config) -> str:
  """Why training ended: "patience" when the validation monitor had not
  improved for `early_stopping_patience` epochs (so more epochs were not
  needed), "epoch cap" otherwise (it may still have been improving)."""
  patience = config.early_stopping_patience
  return ("patience" if patience and
          len(monitored) - best_epoch(monitored) >= patience else "epoch cap")
