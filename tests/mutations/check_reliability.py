"""Checks that each row of docs/reliability.md is backed by a test that
fails when the protection is removed.

    .venv/bin/python tests/mutations/check_reliability.py [ROW ...]
    .venv/bin/python -m pytest -m mutation tests/mutations   # the same, as a test

Each protection is a statement in the source tagged with a trailing comment
`# reliability row N` (or `rows N, M`), so a mutation finds its target by
that tag, not by copied source text. A mutation either substitutes text
inside the tagged line (`sub`), replaces the tagged statement with another
(`stmt`; the statement runs on while brackets are open, and over the block
of a compound statement), or inserts a
statement before it (`before`). For every row: apply the mutation, check the
file still compiles, run the row's test, expect it to FAIL, restore the
source. Prints a table; exits 1 if a mutated test passed or a mutation could
not be applied. `tests/mutations/test_check_reliability.py` checks on every
`make test` that each tag is found once and each mutation applies and
compiles; running the tests under mutation is the opt-in `mutation` marker
(about 15 minutes; README).
"""

import os
import re
import subprocess
import sys
from typing import Dict, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RV = "seqmd_tf/data/read_validation.py"
T_RV = "tests/data/test_read_validation.py"
TRAIN = "seqmd_tf/training/pipeline.py"
CONVERT = "seqmd_tf/data/convert/pipeline.py"
ROWS = "seqmd_tf/data/convert/rows.py"
T_CRASH = "tests/pipelines/test_crashes.py"


def sub(old, new):
  return ("sub", old, new)


def stmt(new):
  return ("stmt", None, new)


def before(new):
  return ("before", None, new)


# row: (file, mutation, test, what the mutation does)
MUTATIONS: Dict[int, Tuple[str, Tuple, str, str]] = {
    1: (RV, sub("not policy.skip_corrupt", "False"),
        f"{T_RV}::test_corrupt_shard_names_file_or_is_skipped",
        "a corrupt shard no longer raises"),
    2: ("seqmd_tf/training/input.py", stmt("pass"),
        f"{T_RV}::test_training_goes_on_with_the_policies",
        "training reads corrupt shards without ignore_errors"),
    3: (RV, stmt("raise"),
        f"{T_RV}::test_wrong_dtype_names_file_and_record",
        "the parse error is raised as TF's, without file and record"),
    4: (RV, sub('"non_finite"', '"non_finite_off"'),
        f"{T_RV}::test_invalid_values_error_or_repair",
        "NaN/Inf are not checked"),
    5: (RV, sub("counts != 1", "counts > 1"),
        f"{T_RV}::test_invalid_values_error_or_repair",
        "a missing required feature is not counted"),
    6: (RV, stmt("batch[s.name] = x"),
        f"{T_RV}::test_repair_and_keep_on_parsed_batches",
        "on_invalid=repair leaves NaN in place"),
    7: (RV, stmt('kinds["oov"] = tf.constant(0, tf.int64)'),
        f"{T_RV}::test_oov_empty_truncated_funnel_counted",
        "out-of-vocabulary values are not counted"),
    8: (RV, stmt("ok = tf.ones_like(mask[:, 0])"),
        f"{T_RV}::test_repair_and_keep_on_parsed_batches",
        "empty lists are kept"),
    9: (RV, sub("lengths > list_size", "lengths > 10 ** 6"),
        f"{T_RV}::test_oov_empty_truncated_funnel_counted",
        "truncation is not counted"),
    10: (RV, stmt("y = y"),
         f"{T_RV}::test_repair_and_keep_on_parsed_batches",
         "funnel labels are not repaired at read time"),
    11: (CONVERT, stmt("pass"),
         "tests/data/convert/test_pipeline.py::test_parquet_counts_reconcile",
         "rejected rows are dropped instead of written aside"),
    12: (ROWS, stmt("pass"),
         "tests/data/convert/test_rows.py::test_funnel_repair_and_reject",
         "convert counts a funnel repair but does not repair"),
    13: (ROWS, sub("spec.closed_vocabulary and text not in spec.vocabulary",
                   "False"),
         "tests/data/convert/test_rows.py::test_rejections",
         "a closed vocabulary accepts unknown values"),
    14: (CONVERT, stmt("write_json(os.path.join(out_dir, MANIFEST), {})"),
         "tests/data/convert/test_pipeline.py::"
         "test_killed_run_leaves_nothing_complete_and_rerun_matches",
         "convert writes a manifest before the shards"),
    15: ("seqmd_tf/data/synthetic/generate.py",
         before("write_json(os.path.join(out_dir, MANIFEST), {})"),
         f"{T_CRASH}::test_generation_killed_then_rerun_gives_the_same_bytes",
         "generate writes a manifest before the shards"),
    16: ("seqmd_tf/training/resume.py", stmt("pass"),
         f"{T_CRASH}::test_killed_between_epochs_resumes_exactly",
         "a resumed run does not advance the seeded shuffle"),
    17: ("seqmd_tf/training/resume.py", stmt("pass"),
         f"{T_CRASH}::test_killed_mid_epoch_resumes_within_tolerance",
         "a resumed run does not advance the seeded shuffle"),
    18: (TRAIN, stmt("pass"),
         f"{T_CRASH}::test_same_seed_deterministic_gives_identical_metrics",
         "training is not seeded (initial weights)"),
    19: ("seqmd_tf/layers/feature_preprocessor.py",
         sub("self._embed(name, ", "self._embeddings[name]("),
         "tests/layers/test_layers.py::"
         "test_embedding_gradients_are_dense_for_every_part",
         "embeddings by gather (sparse gradients) under multi-worker"),
    20: ("seqmd_tf/serving/export.py", sub("self._check_elwc(inputs)", "[]"),
         "tests/serving/test_robustness.py::"
         "test_each_bad_request_is_a_client_error",
         "serving requests are not checked"),
    21: ("seqmd_tf/paths.py",
         sub("os.path.commonpath([root, path]) != root", "False"),
         "tests/test_safety.py::test_inside_refuses_paths_that_leave_the_folder",
         "output paths are not confined"),
    22: (ROWS, sub("UnicodeDecodeError", "ZeroDivisionError"),
         "tests/data/convert/test_rows.py::test_rejections",
         "invalid UTF-8 in a string value is not caught"),
    23: ("seqmd_tf/data/schema.py",
         sub("text_format.ParseError", "ZeroDivisionError"),
         "tests/data/test_fuzz.py::test_schema_loader_takes_any_text",
         "schema parse errors escape as protobuf errors"),
    24: ("pipelines/commands.py", sub("not isinstance(config, dict)", "False"),
         "tests/test_safety.py::test_configs_are_plain_json_not_code",
         "a JSON config that is not an object is accepted"),
    25: ("seqmd_tf/training/callbacks.py", stmt("pass"),
         "tests/training/test_callbacks.py::"
         "test_resumed_run_stops_where_an_uninterrupted_one_does",
         "a resumed run's early stopping forgets the epochs before the crash"),
    26: ("seqmd_tf/training/callbacks.py",
         sub("bool(self.model.stop_training)", "True"),
         f"{T_CRASH}::test_a_run_its_cap_ended_continues_exactly",
         "the backup is deleted at the end of every run"),
    27: ("seqmd_tf/training/resume.py", sub("if differences:", "if False:"),
         "tests/training/test_pipeline.py::"
         "test_a_run_its_cap_ended_continues_to_a_higher_cap",
         "a folder's backup is resumed under other settings"),
}


class NotApplied(Exception):
  """A mutation that cannot be applied: the check itself must be fixed."""


def _tagged_line(lines, row: int, path: str) -> int:
  tag = re.compile(r"#\s*reliability rows? ([0-9, ]+)\s*$")
  hits = [i for i, line in enumerate(lines)
          if (m := tag.search(line)) and
          row in {int(x) for x in m.group(1).replace(" ", "").split(",")}]
  if len(hits) != 1:
    raise NotApplied(f"{path}: {len(hits)} lines tagged reliability row {row}")
  return hits[0]


def _statement_end(lines, start: int) -> int:
  """The last line of the statement starting at `start`: on while brackets
  are open, and over the indented block of a compound statement."""
  depth, i = 0, start
  while True:
    code = lines[i].split("#", 1)[0]
    depth += sum(code.count(c) for c in "([{") - sum(code.count(c)
                                                     for c in ")]}")
    if depth <= 0 or i == len(lines) - 1:
      break
    i += 1
  if not lines[i].split("#", 1)[0].rstrip().endswith(":"):
    return i
  indent = len(lines[start]) - len(lines[start].lstrip())
  while i + 1 < len(lines) and (not lines[i + 1].strip() or
                                len(lines[i + 1]) - len(lines[i + 1].lstrip())
                                > indent):
    i += 1
  while not lines[i].strip():  # trailing blank lines stay
    i -= 1
  return i


def mutated(row: int) -> str:
  """The source of the row's file with its mutation applied (and checked to
  compile); NotApplied when the tag or the text is not there."""
  path, (kind, old, new), _, _ = MUTATIONS[row]
  with open(os.path.join(ROOT, path), encoding="utf-8") as f:
    lines = f.read().split("\n")
  i = _tagged_line(lines, row, path)
  indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
  if kind == "sub":
    if lines[i].count(old) != 1:
      raise NotApplied(f"{path}:{i + 1}: {old!r} is not on the line tagged "
                       f"reliability row {row}")
    lines[i] = lines[i].replace(old, new)
  elif kind == "stmt":
    lines[i:_statement_end(lines, i) + 1] = [indent + new]
  else:
    lines.insert(i, indent + new)
  source = "\n".join(lines)
  try:
    compile(source, path, "exec")
  except SyntaxError as e:
    raise NotApplied(f"{path}: the mutation of row {row} does not compile: "
                     f"{e}") from None
  return source


def run_row(row: int) -> str:
  """Applies the row's mutation, runs its test, restores the source; returns
  the outcome."""
  path, _, test, _ = MUTATIONS[row]
  full = os.path.join(ROOT, path)
  with open(full, encoding="utf-8") as f:
    original = f.read()
  try:
    source = mutated(row)
  except NotApplied as e:
    return f"MUTATION DID NOT APPLY ({e})"
  try:
    with open(full, "w", encoding="utf-8") as f:
      f.write(source)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "-o", "addopts=", test], cwd=ROOT, capture_output=True, text=True,
        timeout=900, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return "fails (good)" if proc.returncode != 0 else "PASSES (bad)"
  finally:
    with open(full, "w", encoding="utf-8") as f:
      f.write(original)


def main(rows):
  results = []
  for row in rows:
    outcome = run_row(row)
    results.append((row, MUTATIONS[row][3], MUTATIONS[row][2], outcome))
    print(f"row {row}: {outcome} - {MUTATIONS[row][3]}", flush=True)
  print("\n| row | protection removed | test | with the mutation |\n|---|---|---|---|")
  for row, what, test, outcome in results:
    print(f"| {row} | {what} | `{test.split('::')[-1]}` | {outcome} |")
  return 0 if all(r[3] == "fails (good)" for r in results) else 1


if __name__ == "__main__":
  chosen = [int(a) for a in sys.argv[1:]] or sorted(MUTATIONS)
  sys.exit(main(chosen))
