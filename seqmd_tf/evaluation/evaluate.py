"""Evaluates a trained model on a split: NDCG per task, platform and region.

For every query group and task it computes, with the one NDCG implementation
(`seqmd_tf.evaluation.ndcg.per_list_ndcg`):
  * the model's NDCG@5, @10 and full;
  * the oracle's, ranking by the generator's true probabilities (when the
    data has them);
  * the first-task oracle's, ranking every task's labels by the true
    probability of the first task (click): a ranking that knows nothing
    about the later tasks, which a model of purchase should beat;
  * the expected NDCG of a uniformly random order of the same list;
  * the model's own first-task ranking (`model_first_task`): every task's
    labels ranked by the model's first-task score. It has the model's
    information and nothing learned about the later tasks, so a model that
    learned purchase beats it on purchase.
Lists without a positive for a task are left out of that task's figures.
"""

from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
import pandas as pd
import tensorflow as tf
from seqmd_tf.progress import progress as progress_bar

from seqmd_tf.data import elwc
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.evaluation.classification import classification_metrics
from seqmd_tf.evaluation.ndcg import per_list_ndcg
from seqmd_tf.evaluation.slices import ALL, BY_REGION, platform_slice

CUTOFFS = {"5": 5, "10": 10, "full": None}
FIRST_TASK_ORACLE = "first_task_oracle"
MODEL_FIRST_TASK = "model_first_task"


def expected_random_ndcg(labels: np.ndarray, topn: Optional[int]) -> np.ndarray:
  """Exact E[NDCG@k] of a uniformly random order, per list.

  Every position holds each real listing with probability 1/n, so
  E[DCG@k] = mean(gain) * sum_{r <= min(k, n)} 1 / log2(r + 1).
  labels: [B, L] with < 0 for padding.
  """
  valid = labels >= 0
  gains = np.where(valid, np.power(2.0, np.maximum(labels, 0)) - 1.0, 0.0)
  n = valid.sum(axis=1)
  positions = np.arange(1, labels.shape[1] + 1)
  disc = 1.0 / np.log2(positions + 1.0)
  k = n if topn is None else np.minimum(n, topn)
  cum = np.concatenate([[0.0], np.cumsum(disc)])
  mean_gain = np.divide(gains.sum(axis=1), n, out=np.zeros(len(n)),
                        where=n > 0)
  ideal = -np.sort(-gains, axis=1)
  cut = disc if topn is None else np.where(positions <= topn, disc, 0.0)
  idcg = (ideal * cut).sum(axis=1)
  return np.divide(mean_gain * cum[k], idcg, out=np.zeros(len(n)),
                   where=idcg > 0)


def top_k_share(values: np.ndarray, scores: np.ndarray, mask: np.ndarray,
                k: int = 10) -> np.ndarray:
  """Mean of `values` over each list's top k by score (stable order), [B]."""
  scores = np.where(mask, scores, -np.inf)
  order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
  top_values = np.take_along_axis(values, order, axis=1)
  top_mask = np.take_along_axis(mask, order, axis=1)
  return np.divide((top_values * top_mask).sum(1), top_mask.sum(1),
                   out=np.zeros(len(values)), where=top_mask.sum(1) > 0)


@tf.function(reduce_retracing=True)
def _ndcg_all_cutoffs(labels, scores):
  return {name: per_list_ndcg(labels, scores, k)[0]
          for name, k in CUTOFFS.items()}


def _compiled_forward(model: tf.keras.Model):
  """The model's inference pass as one graph for every batch shape: batches
  cut to their longest list differ in length, and an eager call pays Python
  dispatch for each of the model's ops (two thirds of a SEQ+MD run's
  scoring time in a profile; timings per model: benchmarks/test_scoring.py).
  """
  return tf.function(lambda features: model(features, training=False),
                     reduce_retracing=True)


def score_split(model: tf.keras.Model, files: Sequence[str],
                schema: SearchLogSchema, tasks: Sequence[str],
                batch_size: int = 256, progress: bool = True,
                batches: Optional[Iterable[Dict]] = None,
                share_feature: Optional[str] = "is_domestic") -> Dict:
  """Runs the model over `files` (or already parsed `batches` holding the
  feature, label, oracle and meta fields); returns per-list and per-listing
  results. With `share_feature` (a 0/1 listing feature, if the data has it)
  each list also gets that feature's share among the top 10 of the final
  task, for the model, the oracle and the whole list (Fig. 7)."""
  have_oracle = all(any(f.task == t for f in schema.select(role="oracle"))
                    for t in tasks)
  roles = ("feature", "label", "oracle", "meta")
  parse = elwc.parse_fn(schema, roles)
  feature_names = {f.name for f in schema.model_features} | {elwc.MASK_FEATURE}
  ds = batches
  if ds is None:
    ds = tf.data.TFRecordDataset(list(files)).batch(batch_size).map(
        parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
  forward = _compiled_forward(model)
  lists: List[pd.DataFrame] = []
  listings = {t: {"label": [], "prob": []} for t in tasks}
  bar = progress_bar(desc="evaluate", unit="list", enabled=progress)
  for batch in ds:
    features = {k: v for k, v in batch.items() if k in feature_names}
    outputs = forward(features)
    mask = batch[elwc.MASK_FEATURE].numpy()
    frame = {
        # Slices by role: the schema names the region and platform features.
        "region": _context_strings(batch, schema.region_feature),
        "platform": _context_strings(batch, schema.platform_feature),
        "list_size": mask.sum(axis=1),
    }
    if have_oracle:  # the first task's true probability ranks every task
      first = tf.squeeze(batch[schema.oracle(tasks[0]).name], -1)
    for task in tasks:
      label = tf.cast(tf.squeeze(batch[schema.label(task).name], -1),
                      tf.float32)
      label = tf.where(mask, label, -1.0)
      log_p = outputs[task]
      for name, values in _ndcg_all_cutoffs(label, log_p).items():
        frame[f"{task}/model/{name}"] = values.numpy()
      for name, values in _ndcg_all_cutoffs(label, outputs[tasks[0]]).items():
        frame[f"{task}/{MODEL_FIRST_TASK}/{name}"] = values.numpy()
      if have_oracle:
        oracle = tf.squeeze(batch[schema.oracle(task).name], -1)
        for name, values in _ndcg_all_cutoffs(label, oracle).items():
          frame[f"{task}/oracle/{name}"] = values.numpy()
        for name, values in _ndcg_all_cutoffs(label, first).items():
          frame[f"{task}/{FIRST_TASK_ORACLE}/{name}"] = values.numpy()
      label_np = label.numpy()
      for name, k in CUTOFFS.items():
        frame[f"{task}/random/{name}"] = expected_random_ndcg(label_np, k)
      frame[f"{task}/has_positive"] = (label_np > 0).any(axis=1)
      listings[task]["label"].append(label_np[mask])
      listings[task]["prob"].append(np.exp(log_p.numpy()[mask]))
    if share_feature and share_feature in batch:
      values = np.squeeze(batch[share_feature].numpy(), -1).astype(np.float64)
      last = tasks[-1]
      frame[f"{share_feature}@10/model"] = top_k_share(
          values, outputs[last].numpy(), mask)
      if have_oracle:
        frame[f"{share_feature}@10/oracle"] = top_k_share(
            values, np.squeeze(batch[schema.oracle(last).name].numpy(), -1),
            mask)
      frame[f"{share_feature}/list"] = np.divide(
          (values * mask).sum(1), mask.sum(1))
    lists.append(pd.DataFrame(frame))
    bar.update(len(mask))
  bar.close()
  if not lists:
    raise ValueError(f"no query groups in {list(files)[:3]}")
  return dict(lists=pd.concat(lists, ignore_index=True),
              listings={t: {k: np.concatenate(v) for k, v in d.items()}
                        for t, d in listings.items()},
              have_oracle=have_oracle)


def _context_strings(batch: Dict[str, tf.Tensor], name: str) -> List[str]:
  """One string per list: a categorical context feature of the batch."""
  return [v.decode() for v in batch[name].numpy()[:, 0]]


def _means(frame: pd.DataFrame, task: str, ranker: str) -> Dict[str, float]:
  return {name: float(frame[f"{task}/{ranker}/{name}"].mean())
          for name in CUTOFFS}


def bootstrap_interval(values: np.ndarray, num_samples: int = 1000,
                       seed: int = 0, level: float = 0.95) -> List[float]:
  """Percentile bootstrap interval of the mean, resampling query groups."""
  rng = np.random.default_rng(seed)
  values = np.asarray(values, dtype=np.float64)
  idx = rng.integers(0, len(values), size=(num_samples, len(values)))
  means = values[idx].mean(axis=1)
  lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
  return [float(lo), float(hi)]


def summarize(scored: Dict, tasks: Sequence[str], model_name: str,
              min_region_lists: int = 50, bootstrap_samples: int = 1000,
              seed: int = 0) -> Dict:
  """The metrics.json structure (see docs/evaluation.md)."""
  frame = scored["lists"]
  rankers = ["model", "random"] + (["oracle", FIRST_TASK_ORACLE]
                                   if scored["have_oracle"] else [])
  out = {"model": model_name, "tasks": list(tasks),
         "ndcg": {}, "oracle_ndcg": {}, "random_ndcg": {},
         f"{FIRST_TASK_ORACLE}_ndcg": {}, "n_lists": {},
         "too_small_regions": {}, "bootstrap": {}, "classification": {},
         "min_region_lists": min_region_lists,
         "total_lists": int(len(frame)),
         "platforms": sorted(str(p) for p in frame["platform"].unique())}
  keys = {"model": "ndcg", "oracle": "oracle_ndcg", "random": "random_ndcg",
          FIRST_TASK_ORACLE: f"{FIRST_TASK_ORACLE}_ndcg"}
  for task in tasks:
    used = frame[frame[f"{task}/has_positive"]]
    slices = {ALL: used}
    for platform in out["platforms"]:
      slices[platform_slice(platform)] = used[used["platform"] == platform]
    regions = sorted(frame["region"].unique())
    for ranker in rankers:
      entry = {name: _means(part, task, ranker) for name, part in slices.items()}
      entry[BY_REGION] = {
          r: _means(used[used["region"] == r], task, ranker) for r in regions}
      out[keys[ranker]][task] = entry
    counts = {name: int(len(part)) for name, part in slices.items()}
    counts[BY_REGION] = {r: int((used["region"] == r).sum())
                           for r in regions}
    out["n_lists"][task] = counts
    out["too_small_regions"][task] = sorted(
        r for r, n in counts[BY_REGION].items() if n < min_region_lists)
    boot = {}
    for ranker in rankers:
      values = used[f"{task}/{ranker}/10"].to_numpy()
      boot[ranker] = dict(mean=float(values.mean()) if len(values) else None,
                          ci95=bootstrap_interval(values, bootstrap_samples,
                                                  seed) if len(values) else None)
    out["bootstrap"][task] = {"ndcg@10": boot}
    if "oracle" in boot and boot["model"]["ci95"]:
      boot["checks"] = dict(
          model_ci_above_random=boot["model"]["ci95"][0] > boot["random"]["mean"],
          model_below_oracle=boot["model"]["mean"] < boot["oracle"]["mean"],
          model_above_first_task_oracle=(
              boot["model"]["mean"] > boot[FIRST_TASK_ORACLE]["mean"]))
    listing = scored["listings"][task]
    out["classification"][task] = classification_metrics(listing["label"],
                                                         listing["prob"])
  return out
