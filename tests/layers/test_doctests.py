"""Every `>>>` example in the layers' docstrings runs and gives its output."""

import doctest
import importlib
import pkgutil

import pytest
import tensorflow as tf

import seqmd_tf.layers
from seqmd_tf.keras_compat import keras

MODULES = [f"seqmd_tf.layers.{m.name}"
           for m in pkgutil.iter_modules(seqmd_tf.layers.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
  module = importlib.import_module(name)
  finder = doctest.DocTestFinder()
  runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
  examples = 0
  for test in finder.find(module, globs=dict(vars(module), tf=tf, keras=keras)):
    examples += len(test.examples)
    runner.run(test)
  assert runner.failures == 0, f"{name}: {runner.failures} failing examples"
  assert examples > 0, f"{name} has no example"
