"""The Keras the model package runs on.

TensorFlow < 2.16 bundles Keras 2 as `tf.keras`. On newer TensorFlow,
`tf.keras` is Keras 3, and the Keras 2 API lives in the `tf_keras` package;
the layers here are written for the Keras 2 API, so they use that one.
Nothing in `seqmd_tf.layers` or `seqmd_tf.models` imports TF-Ranking.
"""

import tensorflow as tf

_MAJOR_MINOR = tuple(int(p) for p in tf.__version__.split(".")[:2])

if _MAJOR_MINOR >= (2, 16):  # pragma: no cover - exercised on newer runtimes
  import tf_keras as keras  # pylint: disable=import-error
else:
  keras = tf.keras

__all__ = ["keras"]
