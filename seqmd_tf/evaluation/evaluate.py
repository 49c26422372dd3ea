"""Evaluates a trained model on a split: NDCG per task, platform and region.

For every query group and task it computes, with the one NDCG implementation
(`seqmd_tf.evaluation.ndcg.per_list_ndcg_at`):
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
from seqmd_tf.evaluation.ndcg import per_list_ndcg_at
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
  return per_list_ndcg_at(labels, scores, tuple(CUTOFFS.values()))[0]


def _ndcg_columns(task: str, labels: tf.Tensor,
                  rankings: Dict[str, tf.Tensor]) -> Dict[str, np.ndarray]:
  """`task/ranker/5`, `/10` and `/full`: the per-list NDCG of each ranker's
  scores. A scores tensor that two rankers share (the first task's own
  ranking, for the first task) is ranked once."""
  ranked, columns = {}, {}
  for ranker, scores in rankings.items():
    if id(scores) not in ranked:
      ranked[id(scores)] = [v.numpy() for v in _ndcg_all_cutoffs(labels,
                                                                 scores)]
    for name, values in zip(CUTOFFS, ranked[id(scores)]):
      columns[f"{task}/{ranker}/{name}"] = values
  return columns


def _compiled_forward(model: tf.keras.Model):
  """The model's inference pass as one graph for every batch shape: batches
  cut to their longest list differ in length, and an eager call pays Python
  dispatch for each of the model's ops (two thirds of a SEQ+MD run's
  scoring time in a profile; timings per model: benchmarks/test_scoring.py).
  """
  return tf.function(lambda features: model(features, training=False),
                     reduce_retracing=True)


def _has_oracle(schema: SearchLogSchema, tasks: Sequence[str]) -> bool:
  return all(any(f.task == t for f in schema.select(role="oracle"))
             for t in tasks)


def _labels(batch: Dict[str, tf.Tensor], schema: SearchLogSchema,
            tasks: Sequence[str]) -> Dict[str, tf.Tensor]:
  """Per task, [B, L] float labels, -1 in padded slots."""
  out = {}
  for task in tasks:
    label = tf.cast(tf.squeeze(batch[schema.label(task).name], -1),
                    tf.float32)
    out[task] = tf.where(batch[elwc.MASK_FEATURE], label, -1.0)
  return out


def _share_values(batch: Dict[str, tf.Tensor], share_feature: Optional[str]
                  ) -> Optional[np.ndarray]:
  """[B, L] the 0/1 listing feature of Fig. 7, None if the data lacks it."""
  if not share_feature or share_feature not in batch:
    return None
  return np.squeeze(batch[share_feature].numpy(), -1).astype(np.float64)


SCORING_BATCH_SIZE = 256


def scoring_batches(files: Sequence[str], schema: SearchLogSchema,
                    batch_size: int = SCORING_BATCH_SIZE) -> tf.data.Dataset:
  """The batches `score_split` reads from `files`: the feature, label,
  oracle and meta fields of `batch_size` query groups, each batch padded to
  its longest list. A list of them, kept, can be scored by many models
  (`score_split(batches=...)`); it holds the tensors alone (no padded copy
  of the whole split)."""
  parse = elwc.parse_fn(schema, ("feature", "label", "oracle", "meta"))
  return tf.data.TFRecordDataset(list(files)).batch(batch_size).map(
      parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def _reference_columns(batch: Dict[str, tf.Tensor],
                       labels: Dict[str, tf.Tensor], schema: SearchLogSchema,
                       tasks: Sequence[str], share_feature: Optional[str]
                       ) -> Dict[str, np.ndarray]:
  """One batch's columns that do not depend on the model: the slices, the
  oracle's and the first-task oracle's NDCG, random's expected NDCG, which
  lists have a positive, and the oracle's and the list's share (Fig. 7)."""
  mask = batch[elwc.MASK_FEATURE].numpy()
  columns = {
      # Slices by role: the schema names the region and platform features.
      "region": _context_strings(batch, schema.region_feature),
      "platform": _context_strings(batch, schema.platform_feature),
      "list_size": mask.sum(axis=1),
  }
  have_oracle = _has_oracle(schema, tasks)
  oracles = ({t: tf.squeeze(batch[schema.oracle(t).name], -1) for t in tasks}
             if have_oracle else {})
  for task in tasks:
    if have_oracle:  # the first task's true probability ranks every task
      columns.update(_ndcg_columns(task, labels[task], {
          "oracle": oracles[task], FIRST_TASK_ORACLE: oracles[tasks[0]]}))
    label_np = labels[task].numpy()
    for name, k in CUTOFFS.items():
      columns[f"{task}/random/{name}"] = expected_random_ndcg(label_np, k)
    columns[f"{task}/has_positive"] = (label_np > 0).any(axis=1)
  values = _share_values(batch, share_feature)
  if values is not None:
    if have_oracle:
      columns[f"{share_feature}@10/oracle"] = top_k_share(
          values, oracles[tasks[-1]].numpy(), mask)
    columns[f"{share_feature}/list"] = np.divide((values * mask).sum(1),
                                                 mask.sum(1))
  return columns


def reference_lists(batches: Iterable[Dict], schema: SearchLogSchema,
                    tasks: Sequence[str],
                    share_feature: Optional[str] = "is_domestic"
                    ) -> pd.DataFrame:
  """The per-list columns of `score_split` that no model changes, for
  parsed `batches` (feature, label, oracle and meta fields). Computed once
  and passed as `score_split(..., references=)` to every model scored on
  the same batches, they are about half of a run's scoring work."""
  frames = [pd.DataFrame(_reference_columns(
      batch, _labels(batch, schema, tasks), schema, tasks, share_feature))
            for batch in batches]
  if not frames:
    raise ValueError("no query groups in the batches")
  return pd.concat(frames, ignore_index=True)


def _model_columns(batch: Dict[str, tf.Tensor], outputs: Dict[str, tf.Tensor],
                   labels: Dict[str, tf.Tensor], tasks: Sequence[str],
                   share_feature: Optional[str]) -> Dict[str, np.ndarray]:
  """One batch's columns of the model: its NDCG per task, the NDCG of its
  first task's ranking per task, and its share of the feature (Fig. 7)."""
  columns = {}
  for task in tasks:
    columns.update(_ndcg_columns(task, labels[task], {
        "model": outputs[task], MODEL_FIRST_TASK: outputs[tasks[0]]}))
  values = _share_values(batch, share_feature)
  if values is not None:
    columns[f"{share_feature}@10/model"] = top_k_share(
        values, outputs[tasks[-1]].numpy(), batch[elwc.MASK_FEATURE].numpy())
  return columns


def score_split(model: tf.keras.Model, files: Sequence[str],
                schema: SearchLogSchema, tasks: Sequence[str],
                batch_size: int = SCORING_BATCH_SIZE, progress: bool = True,
                batches: Optional[Iterable[Dict]] = None,
                share_feature: Optional[str] = "is_domestic",
                references: Optional[pd.DataFrame] = None) -> Dict:
  """Runs the model over `files` (or already parsed `batches` holding the
  feature, label, oracle and meta fields); returns per-list and per-listing
  results. With `share_feature` (a 0/1 listing feature, if the data has it)
  each list also gets that feature's share among the top 10 of the final
  task, for the model, the oracle and the whole list (Fig. 7).
  `references`: `reference_lists` of the same batches, tasks and
  `share_feature`, computed once for many models; without it they are
  computed here."""
  feature_names = {f.name for f in schema.model_features} | {elwc.MASK_FEATURE}
  forward = _compiled_forward(model)
  model_frames, reference_frames = [], []
  listings = {t: {"label": [], "prob": []} for t in tasks}
  bar = progress_bar(desc="evaluate", unit="list", enabled=progress)
  if batches is None:
    batches = scoring_batches(files, schema, batch_size)
  for batch in batches:
    outputs = forward({k: v for k, v in batch.items() if k in feature_names})
    labels = _labels(batch, schema, tasks)
    model_frames.append(pd.DataFrame(
        _model_columns(batch, outputs, labels, tasks, share_feature)))
    if references is None:
      reference_frames.append(pd.DataFrame(_reference_columns(
          batch, labels, schema, tasks, share_feature)))
    mask = batch[elwc.MASK_FEATURE].numpy()
    for task in tasks:
      listings[task]["label"].append(labels[task].numpy()[mask])
      listings[task]["prob"].append(np.exp(outputs[task].numpy()[mask]))
    bar.update(len(mask))
  bar.close()
  if not model_frames:
    raise ValueError(f"no query groups in {list(files)[:3]}")
  scored = pd.concat(model_frames, ignore_index=True)
  if references is None:
    references = pd.concat(reference_frames, ignore_index=True)
  _check_references(references, scored, tasks)
  return dict(lists=pd.concat([references.reset_index(drop=True), scored],
                              axis=1),
              listings={t: {k: np.concatenate(v) for k, v in d.items()}
                        for t, d in listings.items()},
              have_oracle=_has_oracle(schema, tasks))


def _check_references(references: pd.DataFrame, scored: pd.DataFrame,
                      tasks: Sequence[str]) -> None:
  missing = [f"{t}/has_positive" for t in tasks
             if f"{t}/has_positive" not in references]
  if len(references) != len(scored) or missing:
    raise ValueError(
        f"the reference columns hold {len(references):,} lists, the model "
        f"scored {len(scored):,}" + (f", and lack {missing}" if missing
                                      else "") +
        ": pass `reference_lists` of the same batches and tasks")


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
