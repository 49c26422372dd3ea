import numpy as np
import pytest

from seqmd_tf.data.feature_split.distances import jensen_shannon, wasserstein1


def test_wasserstein_of_a_shift_is_the_shift():
  p = np.zeros(20)
  p[3:7] = [1, 4, 4, 1]
  q = np.roll(p, 5)
  assert wasserstein1(p, q, bin_width=0.25) == pytest.approx(5 * 0.25)
  assert wasserstein1(q, p, bin_width=0.25) == pytest.approx(5 * 0.25)


def test_wasserstein_ignores_the_scale_of_the_counts():
  p = np.array([1.0, 2.0, 3.0, 0.0])
  assert wasserstein1(p, 10 * p, 1.0) == pytest.approx(0.0)


def test_jensen_shannon_bounds():
  p = np.array([5.0, 5.0, 0.0, 0.0])
  q = np.array([0.0, 0.0, 2.0, 2.0])
  assert jensen_shannon(p, p * 3) == pytest.approx(0.0)
  assert jensen_shannon(p, q) == pytest.approx(1.0)
  r = np.array([1.0, 2.0, 3.0, 4.0])
  assert 0 < jensen_shannon(p, r) < 1
  assert jensen_shannon(p, r) == pytest.approx(jensen_shannon(r, p))


def test_empty_histogram_is_an_error():
  with pytest.raises(ValueError, match="no mass"):
    wasserstein1(np.zeros(3), np.ones(3), 1.0)
