"""Row-per-impression tables made from the tiny synthetic dataset."""

import pytest


@pytest.fixture(scope="session")
def impressions(tiny_data, schema):
  """The tiny dataset's train and valid groups as one table (~230 lists)."""
  from seqmd_tf.data.synthetic.generate import split_files
  from seqmd_tf.data.tables import elwc_to_frame
  files = split_files(tiny_data, "train")[:2] + split_files(tiny_data, "valid")
  return elwc_to_frame(files, schema)
