"""tf.distribute strategies for `seqmd train --strategy`.

    none              one process, TensorFlow's default strategy
    mirrored          MirroredStrategy: synchronous, the devices of one machine
    multi_worker      MultiWorkerMirroredStrategy: synchronous, several
                      machines; the cluster comes from TF_CONFIG
    parameter_server  ParameterServerStrategy (experimental): asynchronous;
                      TF_CONFIG names a chief, workers and parameter servers

Strategies are built through TF-Ranking's `strategy_utils.get_strategy`. The
batch size in TrainConfig is the *global* batch: tf.distribute splits each
batch over the replicas, so the gradient of a step is the same as in one
process. Only the chief writes the run folder; other workers write theirs
into `<run_dir>/workertemp_<index>` (checkpoints must be written by every
worker, and the copies are never read).

A multi-worker strategy must exist before any other TensorFlow work in the
process, so `train` makes it first.
"""

import json
import os
from typing import Optional

import tensorflow as tf
import tensorflow_ranking as tfr

from seqmd_tf.choices import STRATEGIES

EXPERIMENTAL = ("parameter_server",)
_TFR_NAMES = dict(mirrored=tfr.keras.strategy_utils.MIRRORED_STRATEGY,
                  multi_worker=tfr.keras.strategy_utils.MWMS_STRATEGY,
                  parameter_server=tfr.keras.strategy_utils.PS_STRATEGY)


def make_strategy(name: str) -> Optional[tf.distribute.Strategy]:
  """The strategy called `name` (None for "none")."""
  if name not in STRATEGIES:
    raise ValueError(f"unknown strategy {name!r}; valid choices: "
                     f"{list(STRATEGIES)}")
  if name == "none":
    return None
  if name in ("multi_worker", "parameter_server"):
    _check_tf_config(name)
  return tfr.keras.strategy_utils.get_strategy(_TFR_NAMES[name])


def _check_tf_config(name: str) -> None:
  raw = os.environ.get("TF_CONFIG")
  if not raw:
    if name == "multi_worker":
      return  # a one-worker cluster: legal, and handy for trying it out
    raise ValueError(f"strategy {name} needs TF_CONFIG describing the cluster "
                     "(docs/scaling.md)")
  try:
    config = json.loads(raw)
    config["cluster"]  # pylint: disable=pointless-statement
    config["task"]["type"]  # pylint: disable=pointless-statement
  except (ValueError, KeyError, TypeError):
    raise ValueError("TF_CONFIG is not JSON with 'cluster' and 'task' "
                     f"{{'type', 'index'}}: {raw[:200]}") from None
  if name == "parameter_server":
    cluster = config["cluster"]
    missing = [k for k in ("chief", "worker", "ps") if not cluster.get(k)]
    if missing:
      raise ValueError(f"strategy parameter_server: TF_CONFIG's cluster needs "
                       f"{missing}")


def is_chief(strategy: Optional[tf.distribute.Strategy]) -> bool:
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  if resolver.task_type == "chief":
    return True
  has_chief = "chief" in resolver.cluster_spec().as_dict()
  return (resolver.task_type == "worker" and resolver.task_id == 0
          and not has_chief)


def worker_run_dir(run_dir: str, strategy) -> str:
  """The chief's run folder is `run_dir`; other workers' go below it."""
  if is_chief(strategy):
    return run_dir
  return os.path.join(run_dir,
                      f"workertemp_{strategy.cluster_resolver.task_id}")


def scope(strategy):
  return tfr.keras.strategy_utils.strategy_scope(strategy)


def serve_forever() -> None:
  """Runs this process as the TF_CONFIG task's server (a parameter server
  or a worker of a parameter_server cluster) until it is killed."""
  resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
  if resolver.task_type not in ("ps", "worker"):
    raise SystemExit(f"TF_CONFIG task type {resolver.task_type!r}: only ps "
                     "and worker tasks run a server; the chief runs "
                     "`seqmd train --strategy parameter_server`")
  server = tf.distribute.Server(
      resolver.cluster_spec(), job_name=resolver.task_type,
      task_index=resolver.task_id, protocol=resolver.rpc_layer or "grpc",
      start=True)
  server.join()


if __name__ == "__main__":
  serve_forever()
