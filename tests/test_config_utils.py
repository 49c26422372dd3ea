"""The settings two configs differ in (cached runs, resumed backups)."""

from seqmd_tf.config_utils import differences


def test_differences_name_each_changed_or_new_key_but_not_those_that_may_change():
  was = dict(batch_size=64, epochs=40, seed=0)
  now = dict(batch_size=32, epochs=80, seed=0, learning_rate=0.001)
  assert differences("train.", was, now, "cached",
                     may_change=("train.epochs",)) == [
                         "train.batch_size: cached 64, now 32",
                         "train.learning_rate: cached None, now 0.001"]
  assert differences("train.", was, dict(was), "cached") == []


def test_differences_compare_objects_on_both_sides_key_by_key():
  was = dict(generator_version="1.1.0", world=dict(valid_days=17, seed=0),
             tasks=["click", "purchase"])
  now = dict(generator_version="1.1.0", world=dict(valid_days=55, seed=0),
             tasks=dict(first="click"))
  assert differences("data ", was, now, "cached") == [
      "data world.valid_days: cached 17, now 55",
      "data tasks: cached ['click', 'purchase'], now {'first': 'click'}"]
  assert differences("", dict(train=dict(epochs=40)),
                     dict(train=dict(epochs=80)), "cached",
                     may_change=("train.epochs",)) == []
