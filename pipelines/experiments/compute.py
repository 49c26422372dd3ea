"""Quality per unit of compute: what each model buys per multiply-add.

At equal parameters SEQ does more arithmetic per listing than a tower (its
recurrent network runs once per task token), so a user choosing a model
needs its quality beside its cost. One point per variant:

* x: multiply-adds per listing of one forward pass
  (`seqmd_tf.models.complexity`, rebuilt from the run's config);
* y: test NDCG@10 of the last task (purchase) over all traffic, the mean
  over seeds with a 95% t interval (`stats.seed_interval`).

The reference (Shared-Bottom) is a point like any other.
"""

from typing import Dict, List, Sequence


from pipelines.experiments import figures, stats
from pipelines.experiments.plan import Variant

MARKERS = "osD^v<>phX*d"


def points(results: Dict[Variant, Dict], variants: Sequence[Variant]) -> Dict:
  """Per variant: label, parameters, multiply-adds, and the last task's test
  NDCG@10 over seeds (mean, 95% interval, per seed)."""
  task = variants[0].tasks[-1]
  out: List[Dict] = []
  for v in variants:
    runs = results[v]["runs"]
    per_seed = [stats.mean_ndcg(r.lists, task) for r in runs]
    out.append(dict(label=v.label, variant=v.key,
                    parameters=runs[0].parameters,
                    multiply_adds=results[v]["multiply_adds"],
                    ndcg=dict(stats.seed_interval(per_seed), per_seed=per_seed)))
  return dict(task=task, points=out)


def markdown(compute: Dict) -> List[str]:
  lines = [f"Test {compute['task']} NDCG@10 over all traffic (mean over "
           "seeds, 95% t interval) against multiply-adds per listing (one "
           "forward pass).", "",
           "| model | params | mult-adds per listing | "
           f"{compute['task']} NDCG@10 [95%] | NDCG per 10k mult-adds |",
           "|---|---|---|---|---|"]
  for p in sorted(compute["points"], key=lambda p: p["multiply_adds"]):
    n = p["ndcg"]
    lines.append(f"| {p['label']} | {p['parameters']:,} | "
                 f"{p['multiply_adds']:,} | {stats.format_interval(n, '.4f')} | "
                 f"{1e4 * n['mean'] / p['multiply_adds']:.3f} |")
  return lines + [""]


def plot(compute: Dict, path: str) -> None:
  fig, ax = figures.subplots(figsize=(7, 4.5))
  colors = figures.plt.get_cmap("tab20").colors  # one color and marker per model
  for i, p in enumerate(compute["points"]):
    n = p["ndcg"]
    ax.errorbar([p["multiply_adds"]], [n["mean"]],
                yerr=figures.error_bars([n]), color=colors[i % len(colors)],
                marker=MARKERS[i % len(MARKERS)], capsize=3, label=p["label"])
  ax.set_xscale("log")
  figures.finish(fig, ax, path, "multiply-adds per listing (log scale)",
                 f"test {compute['task']} NDCG@10 (mean over seeds, 95%)",
                 "Quality per unit of compute", dict(fontsize=6, ncol=2))
