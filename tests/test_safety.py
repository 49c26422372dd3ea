"""Safety: configs and schemas go through safe parsers only, and every
stage writes inside the folder it was given."""

import os
import re

import pytest

from pipelines import cli
from seqmd_tf.paths import inside

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNSAFE = re.compile(r"\b(pickle|marshal|shelve|dill|cloudpickle)\b|"
                    r"\beval\(|\bexec\(|yaml\.load\(|yaml\.unsafe_load")


def test_no_unsafe_loader_in_the_code():
  hits = []
  for folder in ("seqmd_tf", "pipelines"):
    for root, _, files in os.walk(os.path.join(ROOT, folder)):
      for name in files:
        if name.endswith(".py"):
          path = os.path.join(root, name)
          with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
              if UNSAFE.search(line.split("#")[0]):
                hits.append(f"{os.path.relpath(path, ROOT)}:{i}: {line.strip()}")
  assert not hits, hits


def test_configs_are_plain_json_not_code(tmp_path):
  marker = tmp_path / "ran"
  for text, message in (
      (f"__import__('pathlib').Path({str(marker)!r}).touch()",
       "not valid JSON"),
      ("!!python/object/apply:os.system ['true']", "not valid JSON"),
      ("[1, 2]", "must be a JSON object"), ('"a string"', "must be a JSON "
                                            "object")):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(SystemExit, match=message):
      cli.load_config(str(path))
  assert not marker.exists()


def test_inside_refuses_paths_that_leave_the_folder(tmp_path):
  base = str(tmp_path / "out")
  assert inside(base, "train", "part-0.tfrecord").startswith(
      os.path.realpath(base))
  for bad in (("..", "x"), ("train/../../x",), ("/etc/passwd",)):
    with pytest.raises(ValueError, match="leaves the output folder"):
      inside(base, *bad)


def _files_under(root):
  return {os.path.relpath(os.path.join(r, n), root)
          for r, _, names in os.walk(root) for n in names}


def test_stages_write_only_inside_their_output_folder(tmp_path, tiny_data,
                                                      trained_run, impressions):
  """Each stage gets root/<stage>; nothing appears elsewhere under root."""
  root = tmp_path / "root"
  root.mkdir()
  parquet = str(tmp_path / "rows.parquet")
  impressions.head(2000).to_parquet(parquet)
  outs = {"generate": ["generate", "--out", str(root / "generate"),
                       "--queries-per-day", "100", "--train-days", "1",
                       "--valid-days", "1", "--test-days", "1"],
          "convert": ["convert", "--input", parquet, "--out",
                      str(root / "convert")],
          "evaluate": ["evaluate", "--data", tiny_data, "--run-dir",
                       trained_run["run_dir"], "--out", str(root / "evaluate")],
          "export": ["export", "--run-dir", trained_run["run_dir"],
                     "--export-base", str(root / "export"), "--version", "9"]}
  for stage, argv in outs.items():
    assert cli.main(argv) == 0, stage
  stray = {p for p in _files_under(str(root))
           if p.split(os.sep)[0] not in outs}
  assert not stray, stray
