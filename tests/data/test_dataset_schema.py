import os
import shutil
import time

import pytest

from seqmd_tf.data.dataset_schema import (SCHEMA_FILE, check_fits,
                                          dataset_schema, fields_read)
from seqmd_tf.data.schema import SchemaError, parse_schema
from seqmd_tf.data.synthetic.generate import read_manifest


def _edited(schema, old, new, path):
  with open(schema.path, encoding="utf-8") as f:
    text = f.read()
  assert old in text
  with open(path, "w", encoding="utf-8") as f:
    f.write(text.replace(old, new, 1))
  return path


def test_a_dataset_keeps_the_schema_it_was_written_with(tiny_data, schema):
  kept = dataset_schema(tiny_data)
  assert kept.path == os.path.join(tiny_data, SCHEMA_FILE)
  assert kept.digest == schema.digest == read_manifest(tiny_data)[
      "schema_sha256"]


def test_an_older_folder_falls_back_only_to_a_matching_schema(tmp_path, schema,
                                                              tiny_data):
  folder = tmp_path / "old"
  folder.mkdir()
  shutil.copy(os.path.join(tiny_data, "manifest.json"), folder)
  assert dataset_schema(str(folder)).digest == schema.digest  # the default
  other = _edited(schema, 'name: "listing_rating"\n  type: FLOAT',
                  'name: "listing_rating"\n  type: FLOAT\n  # edited',
                  str(tmp_path / "s.pbtxt"))
  assert dataset_schema(str(folder), override=other).path == other
  manifest = read_manifest(str(folder))
  manifest["schema_sha256"] = "0" * 64
  with pytest.raises(SchemaError, match="pass the schema it was written "
                     "with as --schema"):
    dataset_schema(str(folder), manifest=manifest)


def test_a_run_fits_data_whose_md_groups_differ_but_not_other_types(
    tmp_path, schema):
  names = fields_read(schema, schema.tasks)
  regrouped = schema.with_md_groups({"price_local": "invariant"})
  check_fits(schema, regrouped, names, "data")             # no error
  with open(_edited(schema, 'name: "listing_rating"\n  type: FLOAT',
                    'name: "listing_rating"\n  type: INT',
                    str(tmp_path / "int.pbtxt")), encoding="utf-8") as f:
    text = f.read().replace("float_domain { min: 0 max: 5 }",
                            "int_domain { min: 0 max: 5 }", 1)
  as_int = parse_schema(text, "int.pbtxt")
  with pytest.raises(SchemaError, match="field 'listing_rating' is dtype "
                     "'float' in the run's schema .* but 'int' in the data's"):
    check_fits(schema, as_int, names, "data")
  fewer = parse_schema(text.replace('name: "image_quality"',
                                    'name: "photo_score"'), "fewer.pbtxt")
  with pytest.raises(SchemaError, match="reads 'image_quality', which the "
                     "data's schema"):
    check_fits(schema, fewer, names, "data")


def test_md_without_dependent_features_fails_before_reading(tiny_data, schema,
                                                            tmp_path):
  from seqmd_tf.data.synthetic.generate import split_files
  from seqmd_tf.models import ModelConfig
  from seqmd_tf.training.pipeline import TrainConfig, train
  flat = schema.with_md_groups({n: "invariant" for n in
                                schema.feature_groups()["dependent"]})
  start = time.time()
  with pytest.raises(ValueError, match="needs at least one feature with "
                     "md_group=dependent.*split-features"):
    train(flat, split_files(tiny_data, "train"),
          split_files(tiny_data, "valid"), str(tmp_path / "run"),
          ModelConfig(md="per_task"), TrainConfig(epochs=1), verbose=0)
  assert time.time() - start < 5
  assert not os.path.exists(tmp_path / "run")
