"""Fixtures of the pipeline tests."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture
def world_held_elsewhere():
  """`hold(workdir, world)`: another process holds `world` of `workdir`
  (`runner.hold_world`) until the test ends, or until its returned Popen
  is ended with `.communicate("")`."""
  holders = []

  def hold(workdir: str, world: str) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pipelines.experiments.runner import hold_world; "
         f"hold_world({workdir!r}, {world!r}); print('held', flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    holders.append(holder)
    assert holder.stdout.readline().strip() == "held"
    return holder

  yield hold
  for holder in holders:
    if holder.poll() is None:
      holder.communicate("")
