"""The heuristic feature selector F of SEQ+MD (paper section 3.3, Algorithm 1
line 2): which numeric features shift across the values of a distribution
source (country, platform, ...), and so belong to MD's dependent group."""

from seqmd_tf.data.feature_split.distances import (DISTANCES, jensen_shannon,
                                                   wasserstein1)
from seqmd_tf.data.feature_split.selector import (DEFAULT_THRESHOLDS,
                                                  FeatureSplit, decide,
                                                  score_against_truth,
                                                  threshold_curve)
