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
