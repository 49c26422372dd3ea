"""Checks that each row of docs/reliability.md is backed by a test that
fails when the protection is removed.

    .venv/bin/python tests/mutations/check_reliability.py [ROW ...]

For every row: apply the mutation (remove or break the protection in the
source), run the row's test, expect it to FAIL, restore the source. Prints a
table of rows, mutations and outcomes; exits 1 if a mutated test passed.
Not part of `make test` (it edits the source); run by hand, results quoted
in docs/reliability.md.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RV = "seqmd_tf/data/read_validation.py"
T_RV = "tests/data/test_read_validation.py"

# row: (file, old, new, test, what the mutation does)
MUTATIONS = {
    1: (RV, "    if corrupt is not None:\n      if not policy.skip_corrupt:",
        "    if corrupt is not None:\n      if False:",
        f"{T_RV}::test_corrupt_shard_names_file_or_is_skipped",
        "a corrupt shard no longer raises"),
    2: ("seqmd_tf/training/pipeline.py",
        "      self._hparams.dataset_reader = _skip_corrupt_reader",
        "      pass",
        f"{T_RV}::test_training_goes_on_with_the_policies",
        "training reads corrupt shards without ignore_errors"),
    3: (RV, "    record = _first_bad_record(path, schema, tasks, policy)\n"
        "    raise ReadError(",
        "    raise\n    raise ReadError(",
        f"{T_RV}::test_wrong_dtype_names_file_and_record",
        "the parse error is raised as TF's, without file and record"),
    4: (RV, '                         ("non_finite", "NaN or Inf")):',
        '                         ("non_finite_off", "NaN or Inf")):',
        f"{T_RV}::test_invalid_values_error_or_repair",
        "NaN/Inf are not checked"),
    5: (RV, "    bad = ((counts != 1) if (s.required or s.role == \"label\")",
        "    bad = ((counts > 1) if (s.required or s.role == \"label\")",
        f"{T_RV}::test_invalid_values_error_or_repair",
        "a missing required feature is not counted"),
    6: (RV, "          batch[s.name] = tf.where(tf.math.is_finite(x), x,\n"
        "                                   tf.cast(s.default, x.dtype))",
        "          batch[s.name] = x",
        f"{T_RV}::test_repair_and_keep_on_parsed_batches",
        "on_invalid=repair leaves NaN in place"),
    7: (RV, "      kinds[\"oov\"] = tf.reduce_sum(tf.cast(~known, tf.int64))",
        "      kinds[\"oov\"] = tf.constant(0, tf.int64)",
        f"{T_RV}::test_oov_empty_truncated_funnel_counted",
        "out-of-vocabulary values are not counted"),
    8: (RV, "    ok = tf.reduce_any(mask, axis=1)",
        "    ok = tf.ones_like(mask[:, 0])",
        f"{T_RV}::test_repair_and_keep_on_parsed_batches",
        "empty lists are kept"),
    9: (RV, "      tf.reduce_sum(tf.cast(lengths > list_size, tf.int64))",
        "      tf.reduce_sum(tf.cast(lengths > 10 ** 6, tf.int64))",
        f"{T_RV}::test_oov_empty_truncated_funnel_counted",
        "truncation is not counted"),
    10: (RV, "          y = tf.where(y >= 0, tf.maximum(y, later), y)",
         "          y = y",
         f"{T_RV}::test_repair_and_keep_on_parsed_batches",
         "funnel labels are not repaired at read time"),
    11: ("seqmd_tf/data/convert/pipeline.py",
         "        yield beam.pvalue.TaggedOutput(\n"
         "            \"rejects\", _reject(piece.path, row_no, r.reason, r.field,"
         " r.kind,\n                               raw))",
         "        pass",
         "tests/data/convert/test_pipeline.py::test_parquet_counts_reconcile",
         "rejected rows are dropped instead of written aside"),
    12: ("seqmd_tf/data/convert/rows.py",
         "  for i in range(last):\n    values[plan.label_names[i]] = 1\n  return True",
         "  return True",
         "tests/data/convert/test_rows.py::test_funnel_repair_and_reject",
         "convert counts a funnel repair but does not repair"),
    13: ("seqmd_tf/data/convert/rows.py",
         "    if spec.closed_vocabulary and text not in spec.vocabulary:",
         "    if False:",
         "tests/data/convert/test_rows.py::test_rejections",
         "a closed vocabulary accepts unknown values"),
    14: ("seqmd_tf/data/convert/pipeline.py",
         "  if os.path.exists(manifest):  # a rerun: the folder is incomplete "
         "until done\n    os.remove(manifest)",
         "  with open(manifest, \"w\") as f:\n    f.write(\"{}\")",
         "tests/data/convert/test_pipeline.py::"
         "test_killed_run_leaves_nothing_complete_and_rerun_matches",
         "convert writes a manifest before the shards"),
    15: ("seqmd_tf/data/synthetic/generate.py",
         "  bar = tqdm(total=len(jobs), desc=\"generate shards\", unit=\"shard\",",
         "  write_json(os.path.join(out_dir, MANIFEST), {})\n"
         "  bar = tqdm(total=len(jobs), desc=\"generate shards\", unit=\"shard\",",
         "tests/pipelines/test_crashes.py::"
         "test_generation_killed_then_rerun_gives_the_same_bytes",
         "generate writes a manifest before the shards"),
    16: ("seqmd_tf/training/pipeline.py",
         "      for _ in range(done):\n        iter(train)",
         "      pass",
         "tests/pipelines/test_crashes.py::"
         "test_killed_between_epochs_resumes_exactly",
         "a resumed run does not advance the seeded shuffle"),
    17: ("seqmd_tf/training/pipeline.py",
         "      for _ in range(done):\n        iter(train)",
         "      pass",
         "tests/pipelines/test_crashes.py::"
         "test_killed_mid_epoch_resumes_within_tolerance",
         "a resumed run does not advance the seeded shuffle"),
    18: ("seqmd_tf/training/pipeline.py",
         "    tf.keras.utils.set_random_seed(self.config.seed)\n"
         "    with distribute.scope(self.distribution):",
         "    with distribute.scope(self.distribution):",
         "tests/pipelines/test_crashes.py::"
         "test_same_seed_deterministic_gives_identical_metrics",
         "training is not seeded (initial weights)"),
    19: ("seqmd_tf/layers/feature_preprocessor.py",
         "        emb = self._embed(name, self._lookups[name](raw))",
         "        emb = self._embeddings[name](self._lookups[name](raw))",
         "tests/training/test_distribute.py::test_two_workers_match_one_process",
         "embeddings by gather (sparse gradients) under multi-worker"),
    20: ("seqmd_tf/serving/export.py",
         "    with tf.control_dependencies(self._check_elwc(inputs)):",
         "    with tf.control_dependencies([]):",
         "tests/serving/test_robustness.py::"
         "test_each_bad_request_is_a_client_error",
         "serving requests are not checked"),
    21: ("seqmd_tf/paths.py",
         "  if os.path.commonpath([root, path]) != root:",
         "  if False:",
         "tests/test_safety.py::test_inside_refuses_paths_that_leave_the_folder",
         "output paths are not confined"),
    22: ("seqmd_tf/data/convert/rows.py",
         "    except UnicodeDecodeError:\n      raise Reject(",
         "    except ZeroDivisionError:\n      raise Reject(",
         "tests/data/convert/test_rows.py::test_rejections",
         "invalid UTF-8 in a string value is not caught"),
    23: ("seqmd_tf/data/schema.py",
         "  except text_format.ParseError as e:",
         "  except ZeroDivisionError as e:",
         "tests/data/test_fuzz.py::test_schema_loader_takes_any_text",
         "schema parse errors escape as protobuf errors"),
    24: ("pipelines/cli.py",
         "  if not isinstance(config, dict):\n    raise SystemExit(",
         "  if False:\n    raise SystemExit(",
         "tests/test_safety.py::test_configs_are_plain_json_not_code",
         "a JSON config that is not an object is accepted"),
}


def main(rows):
  results = []
  for row in rows:
    path, old, new, test, what = MUTATIONS[row]
    full = os.path.join(ROOT, path)
    with open(full, encoding="utf-8") as f:
      original = f.read()
    if original.count(old) != 1:
      results.append((row, what, test, "MUTATION DID NOT APPLY"))
      continue
    try:
      with open(full, "w", encoding="utf-8") as f:
        f.write(original.replace(old, new))
      proc = subprocess.run(
          [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
           "-o", "addopts=", test], cwd=ROOT, capture_output=True, text=True,
          timeout=900, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
      outcome = "fails (good)" if proc.returncode != 0 else "PASSES (bad)"
    finally:
      with open(full, "w", encoding="utf-8") as f:
        f.write(original)
    results.append((row, what, test, outcome))
    print(f"row {row}: {outcome} - {what}", flush=True)
  print("\n| row | protection removed | test | with the mutation |\n|---|---|---|---|")
  for row, what, test, outcome in results:
    print(f"| {row} | {what} | `{test.split('::')[-1]}` | {outcome} |")
  return 0 if all(r[3] == "fails (good)" for r in results) else 1


if __name__ == "__main__":
  chosen = [int(a) for a in sys.argv[1:]] or sorted(MUTATIONS)
  sys.exit(main(chosen))
