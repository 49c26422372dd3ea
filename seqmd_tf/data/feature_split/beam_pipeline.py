"""The selector's two statistics passes as one Apache Beam pipeline.

    shards --Map(shard_moments)--> CombineGlobally(merge) --> bins (side input)
    shards --Map(shard_histograms, bins)--> CombineGlobally(merge) --> JSON

The elements are shard paths, so the work spreads over as many workers as
there are shards. DirectRunner by default; `pipeline_args` (for example
`--runner=DataflowRunner --project=... --temp_location=gs://...`, or
`--direct_num_workers=2 --direct_running_mode=multi_processing`) pass straight
to Beam's PipelineOptions. The merged statistics are written with tf.io.gfile,
so `work_dir` may be a gs:// path on a cloud runner.
"""

import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from seqmd_tf.data.feature_split import statistics as st
from seqmd_tf.data.schema import SearchLogSchema

STATISTICS_FILE = "statistics.json"


def _write(histograms, path: str, moments, binning) -> None:
  record = dict(
      moments={k: [float(x) for x in v] for k, v in moments.items()},
      binning={k: dict(mean=b.mean, std=b.std, lo=b.lo, hi=b.hi, bins=b.bins)
               for k, b in binning.items()},
      histograms={k: {key: [float(x) for x in c] for key, c in sorted(v.items())}
                  for k, v in histograms.items()})
  tmp = path + ".tmp"  # through tf.io.gfile: Beam's workers may write to GCS
  with tf.io.gfile.GFile(tmp, "w") as f:
    json.dump(record, f)
  tf.io.gfile.rename(tmp, path, overwrite=True)


def read_statistics(path: str) -> Dict:
  with tf.io.gfile.GFile(path, "r") as f:
    record = json.load(f)
  return dict(
      moments={k: np.array(v) for k, v in record["moments"].items()},
      binning={k: st.Binning(**v) for k, v in record["binning"].items()},
      histograms={k: {key: np.array(c) for key, c in v.items()}
                  for k, v in record["histograms"].items()})


def compute_statistics(files: Sequence[str], schema: SearchLogSchema,
                       features: Sequence[str], source: Sequence[str],
                       work_dir: str, bins: int = 64, clip: float = 6.0,
                       pipeline_args: Optional[List[str]] = None,
                       permutations: int = 0) -> Dict:
  """Runs both passes; returns {"moments", "binning", "histograms"}, with the
  null histograms of `permutations` group permutations among the latter."""
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  from apache_beam.options.pipeline_options import PipelineOptions  # pylint: disable=import-outside-toplevel
  if not files:
    raise ValueError("split-features: no training shards given")
  out_path = os.path.join(work_dir, STATISTICS_FILE)
  options = PipelineOptions(list(pipeline_args or []))
  with beam.Pipeline(options=options) as p:
    shards = p | "Shards" >> beam.Create(sorted(files))
    moments = (shards
               | "Moments" >> beam.Map(st.shard_moments, schema, list(features),
                                       list(source))
               | "MergeMoments" >> beam.CombineGlobally(st.merge_moments))
    binning = moments | "Bins" >> beam.Map(st.binnings, bins, clip)
    histograms = (shards
                  | "Histograms" >> beam.Map(
                      st.shard_histograms, schema,
                      beam.pvalue.AsSingleton(binning), list(source),
                      permutations)
                  | "MergeHistograms" >> beam.CombineGlobally(
                      st.merge_histograms))
    _ = histograms | "Write" >> beam.Map(
        _write, out_path, beam.pvalue.AsSingleton(moments),
        beam.pvalue.AsSingleton(binning))
  return read_statistics(out_path)
