"""The named choices of the command line and the configs, defined once.

This module imports nothing, so the command line can offer every choice
without loading TensorFlow (the data stages run without it). The modules
that act on a choice import its tuple from here; tests check that the model
registry and this list agree.
"""

SPLITS = ("train", "valid", "test")
# seqmd_tf.models.registry.MODELS, in the same order
MODEL_NAMES = ("seq", "shared_bottom", "shared_bottom_region_norm", "mmoe",
               "ple", "adatt", "separate_towers")
MD_MODES = ("none", "input", "per_task")
STRATEGIES = ("none", "mirrored", "multi_worker", "parameter_server")
ON_INVALID = ("error", "repair")       # NaN/Inf or a missing required value
FUNNEL = ("repair", "reject")          # labels that break the funnel
INPUT_FORMATS = ("parquet", "csv", "libsvm")
ENGINES = ("local", "beam")            # seqmd convert
DISTANCES = ("wasserstein", "jensen_shannon")   # selector F
WEIGHTINGS = ("unweighted", "traffic")          # selector F
