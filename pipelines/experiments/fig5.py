"""Fig. 5: a task added to a trained 2-task SEQ+MD without training
(paper section 5.2), against models trained on the three tasks: absolute
test NDCG@10 per task, and each model's parameter growth."""

from typing import Dict, List, Sequence

from pipelines.experiments import figures, stats
from pipelines.experiments.plan import Variant


def table(results: Dict[Variant, Dict], variants: Sequence[Variant]) -> Dict:
  """Absolute test NDCG@10 per task of the Fig. 5 rankers, over seeds."""
  ref = variants[0].reference()
  rankers = [(ref.label, ref), *[(v.label, v) for v in variants]]
  tasks = list(ref.tasks)
  table = {}
  for label, v in rankers:
    table[label] = {t: stats.seed_interval(
        [stats.mean_ndcg(r.lists, t) for r in results[v]["runs"]])
        for t in tasks}
    table[label]["parameters"] = results[v]["runs"][0].parameters
  table["random"] = {t: stats.seed_interval(
      [stats.mean_ndcg(r.lists, t, ranker="random")
       for r in results[ref]["runs"]]) for t in tasks}
  table["random"]["parameters"] = 0
  return dict(tasks=tasks, table=table)


def markdown(entry: Dict) -> List[str]:
  f5 = entry["fig5"]
  lines = ["Absolute test NDCG@10 (lists with a positive for the task), mean "
           "over seeds with a 95% t interval. The added-task model is the "
           "2-task SEQ+MD of the same seeds with cart inserted at position 1 "
           "(its MLP and mask are the average of click's and purchase's); "
           "it never saw a cart label.", "",
           "| ranker | params | " + " | ".join(f5["tasks"]) + " |",
           "|---|---|" + "---|" * len(f5["tasks"])]
  for label, row in f5["table"].items():
    lines.append(f"| {label} | {row['parameters']} | " + " | ".join(
        stats.format_interval(row[t], ".4f") for t in f5["tasks"]) + " |")
  lines += ["", "Parameter growth from (click, purchase) to (click, cart, "
            "purchase) at the suite's widths:", "",
            "| model | MD | 2 tasks | 3 tasks | growth |", "|---|---|---|---|---|"]
  for g in entry["growth"]:
    lines.append(f"| {g['model']} | {g['md']} | {g['before']} | {g['after']} | "
                 f"{g['growth_percent']:+.1f}% |")
  return lines + [""]


def plot(fig5: Dict, path: str) -> None:
  tasks, table = fig5["tasks"], fig5["table"]
  fig, ax = figures.subplots(figsize=(7.5, 3.8))
  figures.grouped_bars(ax, {label: [row[t] for t in tasks]
                            for label, row in table.items()})
  ax.set_xticks(range(len(tasks)))
  ax.set_xticklabels(tasks)
  ax.set_ylim(0, 1)  # NDCG's range; leaves the legend room above the bars
  figures.finish(fig, ax, path, "", "test NDCG@10",
                 "Fig. 5: a task added without training",
                 dict(fontsize=7, loc="upper right"))
