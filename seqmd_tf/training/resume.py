"""Resuming a run after a crash, or past its epoch cap: the epochs already
finished, the epoch log, the shuffle order of the epochs still to run, and a
check that the run resumed is the run asked for."""

import json
import os
from typing import Dict, List, Optional, Sequence

import tensorflow as tf

from seqmd_tf.config_utils import differences as config_differences

EPOCH_LOG = "epochs.csv"
# Each finished epoch's wall seconds, one per line (`EpochSeconds`): kept
# apart from the epoch log, whose metrics a resumed run must reproduce
# exactly, and trimmed with it, so a resumed run knows the time of the
# epochs before it.
EPOCH_SECONDS = "epoch_seconds.txt"


def backup_dir(run_dir: str) -> str:
  """BackupAndRestore's folder in a run folder: the state a run resumes
  from after a crash, or continues from past its epoch cap."""
  return os.path.join(run_dir, "backup")


def completed_epochs(backup: str) -> int:
  """Epochs finished before a crash, from BackupAndRestore's checkpoint in
  the folder `backup`."""
  for folder in (os.path.join(backup, "chief"), backup):
    latest = tf.train.latest_checkpoint(folder) if os.path.isdir(folder) else None
    if latest:
      for name, _ in tf.train.list_variables(latest):
        if "ckpt_saved_epoch" in name:
          return int(tf.train.load_variable(latest, name)) + 1
  return 0


def epoch_history(path: str,
                  epochs: Optional[int]) -> Dict[str, List[float]]:
  """The first `epochs` rows (all when None) of the CSV epoch log, as a
  Keras history."""
  import csv  # pylint: disable=import-outside-toplevel
  with open(path, "r", encoding="utf-8", newline="") as f:
    rows = list(csv.DictReader(f))[:epochs]
  return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {})
          if k != "epoch"}


def _trim_epoch_log(path: str, lines_kept: int) -> None:
  """Drops rows of epochs that a resumed run will train again: keeps the
  first `lines_kept` lines."""
  if not os.path.exists(path):
    return
  with open(path, "r", encoding="utf-8") as f:
    lines = f.readlines()
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    f.writelines(lines[:lines_kept])
  os.replace(path + ".tmp", path)


def epoch_seconds(run_dir: str) -> List[float]:
  """The wall seconds of each finished epoch of the run in `run_dir`, the
  epochs before a crash or a cap included (empty for a run trained before
  they were kept)."""
  path = os.path.join(run_dir, EPOCH_SECONDS)
  if not os.path.exists(path):
    return []
  with open(path, encoding="utf-8") as f:
    return [float(line) for line in f if line.strip()]


# What a resumed run, or a cached run reused by the experiment runner, may
# change: the epoch cap (a run its cap ended continues to a higher one).
MAY_CHANGE = ("train.epochs",)

# The run config's sections a resumed backup must match. Not schema_path
# (where the schema file lies) nor feature_config (computed from the schema
# and the training data, which schema_sha256 and data identify).
RESUME_KEYS = ("model", "train", "tasks", "schema_sha256", "data")


def check_resumable(run_dir: str, config_file: str, run_config: Dict) -> None:
  """Raises, naming the folder and the settings that differ, when `run_dir`
  holds a backup (a crashed run, or one its epoch cap ended) made with other
  settings than `run_config`: resuming would train another run's weights
  under this one's name. Only the epoch cap may differ, and not below the
  epochs the backup holds. Call it before `config_file` (the folder's run
  config) is rewritten."""
  path = os.path.join(run_dir, config_file)
  done = completed_epochs(backup_dir(run_dir))
  if not (done and os.path.exists(path)):
    return
  if done > run_config["train"]["epochs"]:
    raise ValueError(
        f"{run_dir} holds a run to resume (backup/) of {done} epochs, more "
        f"than the epoch cap of {run_config['train']['epochs']}: delete its "
        "backup/ to train from scratch under the lower cap")
  with open(path, encoding="utf-8") as f:
    was = json.load(f)
  now = json.loads(json.dumps(run_config))  # tuples as the file has them
  differences = config_differences(
      "", was, {key: now.get(key) for key in RESUME_KEYS}, "in the folder",
      MAY_CHANGE)
  if differences:  # reliability row 27
    raise ValueError(
        f"{run_dir} holds a run to resume (backup/) made with other settings "
        f"({'; '.join(differences[:6])}); only the epoch cap may change when "
        "a run is resumed or continued: use another run folder, or delete "
        "its backup/ to train from scratch")


def resume_or_start(run_dir: str, train: tf.data.Dataset,
                    stale: Sequence[str] = ()) -> str:
  """Prepares a run folder for `fit`; returns the epoch log's path.

  After a crash, BackupAndRestore restores the weights and the optimizer and
  starts at the next epoch. The seeded shuffle gives each new iterator of
  the training data the next order, so one iterator per finished epoch is
  made and dropped: the resumed epochs then see the orders an uninterrupted
  run would have. The epoch log keeps the finished epochs only. A fresh run
  removes the epoch log and the `stale` files of an earlier run in the
  folder.
  """
  backup = backup_dir(run_dir)
  done = completed_epochs(backup)
  log = os.path.join(run_dir, EPOCH_LOG)
  seconds = os.path.join(run_dir, EPOCH_SECONDS)
  if done:
    for _ in range(done):
      iter(train)  # reliability rows 16, 17
    _trim_epoch_log(log, 1 + done)  # the header, then one row an epoch
    _trim_epoch_log(seconds, done)
    tf.get_logger().warning("resuming after epoch %d from %s", done, backup)
  else:
    for path in [log, seconds, *stale]:
      if os.path.exists(path):
        os.remove(path)
  return log
