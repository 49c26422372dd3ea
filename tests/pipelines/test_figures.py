"""The suite's shared figure helpers."""

import math

from pipelines.experiments import figures


def test_error_bars_are_the_interval_around_the_mean_and_never_negative():
  cells = [dict(mean=1.0, ci95=[0.5, 2.0]),
           # a one-seed bootstrap interval that leaves out its mean by an ulp
           dict(mean=-3.9747483662579866, ci95=[-3.974748373031616] * 2)]
  low, high = figures.error_bars(cells)
  assert (low[0], high[0]) == (0.5, 1.0)
  assert low[1] > 0 and high[1] == 0.0
  assert math.isclose(low[1], 6.77e-9, rel_tol=1e-2)
