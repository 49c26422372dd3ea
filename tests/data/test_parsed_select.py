import numpy as np
import pytest

from seqmd_tf.data.elwc import MASK_FEATURE
from seqmd_tf.data.parsed import ParsedSplit


def _split():
  labels = np.array([[[0], [1], [-1]], [[0], [0], [-1]], [[0], [0], [2]]])
  return ParsedSplit({"purchase": labels, MASK_FEATURE: labels[..., 0] >= 0,
                      "query_id": np.array([[b"a"], [b"b"], [b"c"]])},
                     frozenset({"purchase", MASK_FEATURE}))


def test_select_keeps_the_lists_with_a_positive_in_order():
  split = _split()
  keep = split.has_positive("purchase")
  assert keep.tolist() == [True, False, True]
  kept = split.select(keep)
  assert kept.num_lists == 2
  assert kept.arrays["query_id"][:, 0].tolist() == [b"a", b"c"]
  assert kept.example_names == split.example_names
  with pytest.raises(ValueError, match="expected"):
    split.select(np.array([True]))
