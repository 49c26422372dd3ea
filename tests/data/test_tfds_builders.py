"""TFDS builders: offline `tfds.load`, the same groups and tensors as the
ELWC pipeline."""

import numpy as np
import pytest
import tensorflow as tf

tfds = pytest.importorskip("tensorflow_datasets")

from seqmd_tf.data import elwc  # pylint: disable=wrong-import-position
from seqmd_tf.data import tfds_builders  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.generate import generate, split_files  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.world import WorldConfig  # pylint: disable=wrong-import-position

ROLES = ("feature", "label", "oracle", "position", "meta")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
  data_dir = str(tmp_path_factory.mktemp("tfds"))
  splits = tfds.load("seqmd_synthetic/small", data_dir=data_dir)
  return splits, data_dir


def test_synthetic_equals_the_generator(small, schema, tmp_path):
  splits, _ = small
  config = tfds_builders.SeqmdSynthetic.BUILDER_CONFIGS[1]
  ref = str(tmp_path / "ref")
  generate(ref, WorldConfig(**config.world), seed=config.seed, progress=False)
  parse = elwc.plain_parse_fn(schema, ROLES)
  expected = tf.data.TFRecordDataset(split_files(ref, "valid")).batch(64).map(
      parse)
  ours = tfds_builders.ranking_batches(
      splits["valid"].map(lambda g: g), 64, schema)
  # TFDS keeps its own order: compare group by group through query_id.
  want = {}
  for batch in expected:
    for i, qid in enumerate(batch["query_id"][:, 0].numpy()):
      want[qid] = {k: v[i].numpy() for k, v in batch.items()}
  got = 0
  for batch in ours:
    assert sorted(batch) == sorted(next(iter(expected)))
    for i, qid in enumerate(batch["query_id"][:, 0].numpy()):
      n = int(want[qid][elwc.MASK_FEATURE].sum())
      for name, value in batch.items():
        a, b = value[i].numpy(), want[qid][name]
        if name in [s.name for s in schema.select(part="example")] or (
            name == elwc.MASK_FEATURE):
          a, b = a[:n], b[:n]
        np.testing.assert_array_equal(a, b, err_msg=name)
      got += 1
  assert got == len(want) > 0


def test_local_folder_of_parquet(impressions, tmp_path, schema):
  folder = tmp_path / "logs"
  folder.mkdir()
  impressions.to_parquet(folder / "part-0.parquet")
  ds = tfds.load("seqmd_local", data_dir=str(tmp_path / "tfds"),
                 download_and_prepare_kwargs=dict(
                     download_config=tfds.download.DownloadConfig(
                         manual_dir=str(folder))))
  listings = sum(int(tf.size(g["click"])) for split in ds.values()
                 for g in split)
  assert listings == len(impressions)
  batch = next(iter(tfds_builders.ranking_batches(ds["train"], 8, schema,
                                                  list_size=20)))
  assert batch["price_local"].shape == (8, 20, 1)
  assert batch[elwc.MASK_FEATURE].shape == (8, 20)
  assert batch["country"].shape == (8, 1)
