"""SIGKILL, then the same command again: training resumes from its last
epoch and ends where an uninterrupted run ends (so does a run its epoch cap
ended, given a higher cap); generation leaves nothing that looks complete
and a rerun writes the same bytes."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import made_once

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TIMEOUT = 240
# Killed mid-epoch, a run restarts that epoch from the backup taken at the
# end of the previous one. The tolerance is fixed here, before any run.
MID_EPOCH_TOLERANCE = 1e-6


def _train_cmd(data, run_dir, epochs=3):
  return [sys.executable, "-m", "pipelines.cli", "train", "--data", data,
          "--run-dir", run_dir, "--model", "shared_bottom", "--md", "none",
          "--epochs", str(epochs), "--batch-size", "32", "--patience", "0",
          "--seed", "1", "--deterministic"]


def _env():
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def _run(cmd):
  """Runs cmd to the end; returns its stderr (TF's log)."""
  return subprocess.run(cmd, cwd=REPO, env=_env(), check=True, timeout=TIMEOUT,
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                        text=True).stderr


def _kill_when(cmd, ready, delay=0.0):
  """Starts cmd; SIGKILLs its process group once ready() (plus delay)."""
  proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), start_new_session=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + TIMEOUT
  try:
    while time.time() < deadline and proc.poll() is None and not ready():
      time.sleep(0.01)
    assert proc.poll() is None, "finished before it could be killed"
    time.sleep(delay)
  finally:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _epochs_logged(run_dir):
  try:
    with open(os.path.join(run_dir, "epochs.csv"), encoding="utf-8") as f:
      return max(0, len(f.readlines()) - 1)
  except OSError:
    return 0


def _history(run_dir):
  with open(os.path.join(run_dir, "history.json"), encoding="utf-8") as f:
    return json.load(f)


@pytest.fixture(scope="session")
def uninterrupted(tiny_data, tmp_path_factory):
  def make(run_dir):
    start = time.time()
    _run(_train_cmd(tiny_data, run_dir))
    return _history(run_dir), time.time() - start
  return made_once(tmp_path_factory, "uninterrupted_run", make)


def test_killed_between_epochs_resumes_exactly(tiny_data, uninterrupted,
                                               tmp_path):
  run_dir = str(tmp_path / "run")
  _kill_when(_train_cmd(tiny_data, run_dir),
             lambda: _epochs_logged(run_dir) >= 1)
  assert _epochs_logged(run_dir) == 1
  assert not os.path.exists(os.path.join(run_dir, "history.json"))
  log = _run(_train_cmd(tiny_data, run_dir))
  assert "resuming after epoch 1" in log  # resumed, not started again
  resumed = _history(run_dir)
  reference, _ = uninterrupted
  assert resumed["history"] == reference["history"]
  assert resumed["best_epoch"] == reference["best_epoch"]
  # the time of the epoch before the kill is kept for the run's whole time
  from seqmd_tf.training.resume import epoch_seconds
  seconds = epoch_seconds(run_dir)
  assert len(seconds) == resumed["epochs_run"] and resumed["resumed_after"] == 1
  assert resumed["seconds_before_resume"] == round(seconds[0], 1) > 0


def test_a_run_its_cap_ended_continues_exactly(tiny_data, uninterrupted,
                                               tmp_path):
  """Capped at 2 epochs, then the same command with a cap of 3: the third
  epoch continues the run, and the history is the 3-epoch run's."""
  run_dir = str(tmp_path / "run")
  _run(_train_cmd(tiny_data, run_dir, epochs=2))
  assert _history(run_dir)["stop_reason"] == "epoch cap"
  assert "resuming after epoch 2" in _run(_train_cmd(tiny_data, run_dir))
  reference, _ = uninterrupted
  assert _history(run_dir)["history"] == reference["history"]


def test_killed_mid_epoch_resumes_within_tolerance(tiny_data, uninterrupted,
                                                   tmp_path):
  reference, seconds = uninterrupted
  run_dir = str(tmp_path / "run")
  # The first epoch's end is logged; the kill lands inside the second.
  _kill_when(_train_cmd(tiny_data, run_dir),
             lambda: _epochs_logged(run_dir) >= 1, delay=0.02 * seconds)
  assert "resuming after epoch" in _run(_train_cmd(tiny_data, run_dir))
  resumed = _history(run_dir)
  assert sorted(resumed["history"]) == sorted(reference["history"])
  for key, values in reference["history"].items():
    assert resumed["history"][key] == pytest.approx(
        values, abs=MID_EPOCH_TOLERANCE), key


def _digest(folder):
  h = hashlib.sha256()
  for root, _, files in sorted(os.walk(folder)):
    for name in sorted(files):
      if name == "stage.json":
        continue
      with open(os.path.join(root, name), "rb") as f:
        h.update(name.encode() + f.read())
  return h.hexdigest()


def test_generation_killed_then_rerun_gives_the_same_bytes(tmp_path):
  args = ["--queries-per-day", "2000", "--train-days", "3", "--valid-days",
          "1", "--test-days", "1", "--seed", "3"]
  cmd = [sys.executable, "-m", "pipelines.cli", "generate"] + args
  reference = str(tmp_path / "reference")
  _run(cmd + ["--out", reference])
  out = str(tmp_path / "killed")
  train = os.path.join(out, "train")

  def writing():  # killed while a shard is half written
    return os.path.isdir(train) and any(n.endswith(".tmp")
                                        for n in os.listdir(train))
  _kill_when(cmd + ["--out", out], writing)
  assert not os.path.exists(os.path.join(out, "manifest.json"))
  assert any(n.endswith(".tmp") for n in os.listdir(train))  # a torn shard
  _run(cmd + ["--out", out])
  assert _digest(out) == _digest(reference)


def test_same_seed_deterministic_gives_identical_metrics(tiny_data,
                                                         uninterrupted,
                                                         tmp_path):
  """`--deterministic` with the same seed: a second run, in a new process,
  logs exactly the same metrics."""
  run_dir = str(tmp_path / "again")
  _run(_train_cmd(tiny_data, run_dir))
  assert _history(run_dir)["history"] == uninterrupted[0]["history"]
