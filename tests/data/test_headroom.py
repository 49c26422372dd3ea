import pytest

from seqmd_tf.data.synthetic import headroom
from seqmd_tf.data.synthetic.world import WorldConfig

SMALL = dict(days=2, queries_per_day=1500)


@pytest.fixture(scope="module")
def measured():
  worlds = {"none": WorldConfig(interaction_strength=0.0, utility_sharing=0.0),
            "strong": WorldConfig(interaction_strength=4.0, regional_taste=4.0)}
  return headroom.measure_many(worlds, seed=1, **SMALL)


def test_headroom_is_zero_without_the_mechanism(measured):
  none = measured["none"]
  for task in headroom.TASKS:
    for mechanism in ("regional_interactions", "shared_utility"):
      assert abs(none.headroom[task][mechanism]) < 1e-12


def test_headroom_grows_with_the_dial_and_is_paired(measured):
  strong = measured["strong"]
  gain = strong.headroom["purchase"]["regional_interactions"]
  se = strong.headroom_se["purchase"]["regional_interactions"]
  assert gain > 3 * se > 0
  assert strong.relative("purchase", "regional_interactions") > 0.02
  # The oracle beats the ranking that knows nothing about purchase.
  ndcg = strong.ndcg["purchase"]
  assert ndcg[headroom.ORACLE] > ndcg[headroom.FIRST_TASK_ORACLE]
  assert strong.lists["purchase"] < strong.lists["click"]


def test_markdown_names_every_world(measured):
  text = headroom.markdown(measured)
  assert "| none |" in text and "| strong |" in text
  assert "regional_interactions" in text
