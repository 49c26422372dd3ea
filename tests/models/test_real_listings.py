"""Every registered model computes on the real listings only: its scores
equal those of the same weights computing on every list slot."""

import numpy as np
import pytest

from seqmd_tf.layers.listings import PADDING_LOG_PROB
from seqmd_tf.models import ModelConfig, build_model
from seqmd_tf.models.registry import MODELS
from tests.helpers import FEATURES, TASKS

VARIANTS = [(name, md) for name, spec in MODELS.items()
            if not spec.region_standardize for md in spec.md_modes]


def _batch(lengths, l=5, seed=0):
  rng = np.random.default_rng(seed)
  b = len(lengths)
  return {"country": rng.choice(["US", "GB", "FR"], (b, 1)),
          "platform": rng.choice(["web", "app"], (b, 1)),
          "price": (rng.random((b, l, 1)) * 100).astype("f"),
          "rel": rng.normal(size=(b, l, 1)).astype("f"),
          "mask": np.arange(l)[None, :] < np.array(lengths)[:, None]}


def _scores(model, x):
  out = model(x)
  return np.stack([out[t].numpy() for t in TASKS], -1)


@pytest.mark.parametrize("name,md", VARIANTS)
@pytest.mark.parametrize("lengths", [[5, 3, 1, 2], [1, 1, 1], [0, 4, 0, 0]],
                         ids=["mixed", "length_1", "all_padding_but_one"])
def test_scores_equal_the_padded_computation(name, md, lengths):
  model = build_model(ModelConfig(name=name, md=md, rnn_layers=2),
                      FEATURES, TASKS, "mask")
  x = _batch(lengths)
  real = x["mask"]
  # The same weights on every slot: padded slots become listings too.
  every_slot = _scores(model, dict(x, mask=np.ones_like(real)))
  scores = _scores(model, x)
  np.testing.assert_allclose(scores[real], every_slot[real], rtol=1e-5,
                             atol=1e-6)
  assert np.all(scores[~real] == PADDING_LOG_PROB)
