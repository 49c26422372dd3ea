"""Headroom of a mechanism, measured with the generator's own probabilities.

The headroom of a mechanism is what knowing its terms perfectly is worth to a
ranker:

    headroom_m = NDCG@k(oracle) - NDCG@k(oracle with m's terms removed)

Both rankings use the generator's true probabilities of the same listings
(`sample_chunk(..., ablations=True)`), and NDCG uses the sampled labels, so
the difference is paired list by list. The mechanisms are listed in
`sampler.ABLATIONS`: the regional interactions (which MD targets) and the
utility shared across tasks (which SEQ targets). The first-task oracle (every
task ranked by the true click probability) is reported beside them.

A regional warp of the logged features does not change the true
probabilities, so its headroom cannot be measured here: it needs a model
trained with and without the warp (`pipelines/experiments/dose.py`).

The lists come from days after the world's train, valid and test days
(`first_day`), so a headroom measurement never reads the data a model is
evaluated on.
"""

import dataclasses
from typing import Dict, List, Sequence

import numpy as np

from seqmd_tf.data.synthetic.sampler import ABLATIONS, Chunk, sample_chunk
from seqmd_tf.data.synthetic.world import WorldConfig
from seqmd_tf.evaluation.ndcg import per_list_ndcg

TASKS = ("click", "cart", "purchase")
ORACLE = "oracle"
FIRST_TASK_ORACLE = "first_task_oracle"
RANKERS = (ORACLE, FIRST_TASK_ORACLE) + ABLATIONS


def _padded(values: np.ndarray, lengths: np.ndarray, fill: float) -> np.ndarray:
  """Per-listing values [N] as a [G, max length] array padded with `fill`."""
  out = np.full((len(lengths), int(lengths.max())), fill, dtype=np.float64)
  starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
  rows = np.repeat(np.arange(len(lengths)), lengths)
  cols = np.arange(int(lengths.sum())) - np.repeat(starts, lengths)
  out[rows, cols] = values
  return out


def _chunk_ndcg(chunk: Chunk, topn: int) -> Dict[str, Dict[str, np.ndarray]]:
  """task -> ranker -> NDCG@topn of each list with a positive label."""
  e, lengths = chunk.example, chunk.list_lengths
  out = {}
  for task in TASKS:
    labels = _padded(e[task], lengths, -1.0)
    scores = {ORACLE: e[f"true_{task}_prob"],
              FIRST_TASK_ORACLE: e["true_click_prob"]}
    for name in ABLATIONS:
      scores[name] = chunk.ablations[name][f"true_{task}_prob"]
    per_ranker, keep = {}, None
    for ranker, values in scores.items():
      ndcg, has_positive = per_list_ndcg(labels, _padded(values, lengths, 0.0),
                                         topn)
      keep = has_positive.numpy()
      per_ranker[ranker] = ndcg.numpy()[keep]
    out[task] = per_ranker
  return out


@dataclasses.dataclass(frozen=True)
class Headroom:
  """NDCG of each reference ranking and each mechanism's headroom, per task.

  `ndcg[task][ranker]` is a mean over `lists[task]` lists with a positive;
  `headroom[task][mechanism]` and `headroom_se[task][mechanism]` are the
  paired mean difference (oracle minus ablated) and its standard error.
  """
  ndcg: Dict[str, Dict[str, float]]
  headroom: Dict[str, Dict[str, float]]
  headroom_se: Dict[str, Dict[str, float]]
  lists: Dict[str, int]
  topn: int

  def relative(self, task: str, mechanism: str) -> float:
    """The headroom as a fraction of the oracle's NDCG."""
    return self.headroom[task][mechanism] / self.ndcg[task][ORACLE]

  def to_dict(self) -> Dict:
    out = dataclasses.asdict(self)
    out["relative_headroom"] = {t: {m: self.relative(t, m) for m in ABLATIONS}
                                for t in TASKS}
    return out


def measure(config: WorldConfig, seed: int, days: int = 10,
            queries_per_day: int = 5000, topn: int = 10,
            first_day: int = 1000) -> Headroom:
  """Measures every mechanism's headroom on `days` extra days of the world.

  Args:
    config: the world (its size fields are not used).
    seed: the world's seed.
    days: number of extra days sampled, from `first_day` on.
    queries_per_day: queries sampled per day, before the log's filter.
    topn: the NDCG cutoff.
    first_day: the first extra day; far beyond any split by default.
  Returns:
    The Headroom, paired over the lists with a positive label of each task.
  """
  parts: Dict[str, Dict[str, List[np.ndarray]]] = {
      t: {r: [] for r in RANKERS} for t in TASKS}
  for day in range(first_day, first_day + days):
    for chunk, size in _chunk_sizes(queries_per_day, config.shard_queries):
      sampled = sample_chunk(config, seed, day, chunk, size, ablations=True)
      for task, per_ranker in _chunk_ndcg(sampled, topn).items():
        for ranker, values in per_ranker.items():
          parts[task][ranker].append(values)
  values = {t: {r: np.concatenate(v) for r, v in d.items()}
            for t, d in parts.items()}
  return _summary(values, topn)


def _chunk_sizes(queries: int, per_chunk: int):
  chunk = 0
  while queries > 0:
    yield chunk, min(per_chunk, queries)
    queries -= per_chunk
    chunk += 1


def _summary(values: Dict[str, Dict[str, np.ndarray]], topn: int) -> Headroom:
  ndcg, headroom, se, lists = {}, {}, {}, {}
  for task, per_ranker in values.items():
    oracle = per_ranker[ORACLE]
    lists[task] = int(len(oracle))
    ndcg[task] = {r: float(v.mean()) for r, v in per_ranker.items()}
    headroom[task], se[task] = {}, {}
    for mechanism in ABLATIONS:
      diff = oracle - per_ranker[mechanism]
      headroom[task][mechanism] = float(diff.mean())
      se[task][mechanism] = float(diff.std(ddof=1) / np.sqrt(max(len(diff), 1)))
  return Headroom(ndcg, headroom, se, lists, topn)


def measure_many(worlds: Dict[str, WorldConfig], seed: int,
                 **kwargs) -> Dict[str, Headroom]:
  """`measure` for each named world."""
  return {name: measure(config, seed, **kwargs)
          for name, config in worlds.items()}


def markdown(results: Dict[str, Headroom], task: str = "purchase",
             mechanisms: Sequence[str] = ABLATIONS) -> str:
  """One table: per world, the reference NDCGs and each headroom of `task`."""
  head = ["world", "lists", "oracle", "first-task oracle"]
  head += [f"headroom: {m} (± se)" for m in mechanisms]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for name, h in results.items():
    cells = [name, f"{h.lists[task]:,}", f"{h.ndcg[task][ORACLE]:.4f}",
             f"{h.ndcg[task][FIRST_TASK_ORACLE]:.4f}"]
    cells += [f"{h.headroom[task][m]:+.4f} ± {h.headroom_se[task][m]:.4f} "
              f"({100 * h.relative(task, m):+.2f}%)" for m in mechanisms]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)
