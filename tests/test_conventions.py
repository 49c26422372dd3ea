"""Project conventions that code review would otherwise have to catch."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
# tf.io.gfile: Beam's workers may write the selector's record to GCS.
JSON_WRITERS = {"seqmd_tf/paths.py", "seqmd_tf/data/feature_split/beam_pipeline.py"}


def test_every_json_file_goes_through_the_atomic_writer():
  raw = [str(p.relative_to(ROOT)) for package in ("seqmd_tf", "pipelines")
         for p in (ROOT / package).rglob("*.py")
         if "json.dump(" in p.read_text(encoding="utf-8")
         and str(p.relative_to(ROOT)) not in JSON_WRITERS]
  assert not raw, f"write JSON with seqmd_tf.paths.write_json, not json.dump: {raw}"
