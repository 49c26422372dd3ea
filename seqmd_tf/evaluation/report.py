"""Writes metrics.json, a Markdown report and a PNG of NDCG beside the oracle."""

import os
from typing import Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position

from seqmd_tf.evaluation.slices import ALL, BY_REGION, platform_slice  # pylint: disable=wrong-import-position
from seqmd_tf.paths import write_json, write_text  # pylint: disable=wrong-import-position

RANKERS = (("random", "random_ndcg", "#bbbbbb"), ("model", "ndcg", "#1f77b4"),
           ("first_task_oracle", "first_task_oracle_ndcg", "#98df8a"),
           ("oracle", "oracle_ndcg", "#2ca02c"))


def platform_slices(metrics: Dict) -> List[str]:
  """All traffic, then each platform of the data (web and app before the
  platforms were read from the data)."""
  return [ALL] + [platform_slice(p)
                  for p in metrics.get("platforms", ("web", "app"))]


def plot_ndcg(metrics: Dict, path: str) -> None:
  """NDCG@10 per task and platform: random order, model, the first task's
  oracle and the oracle."""
  tasks = metrics["tasks"]
  slices = platform_slices(metrics)
  fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8),
                           squeeze=False)
  width = 0.8 / len(RANKERS)
  for ax, task in zip(axes[0], tasks):
    for j, (label, key, color) in enumerate(RANKERS):
      if task not in metrics.get(key, {}):
        continue
      values = [metrics[key][task][s]["10"] for s in slices]
      xs = [i + (j - (len(RANKERS) - 1) / 2) * width
            for i in range(len(slices))]
      ax.bar(xs, values, width, label=label, color=color)
      ci = metrics["bootstrap"][task]["ndcg@10"].get(label, {}).get("ci95")
      if ci:
        mean = metrics[key][task][ALL]["10"]
        ax.errorbar([xs[0]], [mean], yerr=[[mean - ci[0]], [ci[1] - mean]],
                    fmt="none", ecolor="black", capsize=3)
    n = metrics["n_lists"][task]
    ax.set_xticks(range(len(slices)))
    ax.set_xticklabels([f"{s}\n(n={n[s]})" for s in slices])
    ax.set_title(f"{task}: NDCG@10")
    ax.set_ylim(0, 1)
  axes[0][0].legend(loc="upper left", fontsize=8)
  fig.suptitle(f"{metrics['model']}: test NDCG@10 (95% bootstrap CI on 'all')")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _fmt(x) -> str:
  """A metric, or "n/a" where there was nothing to measure (no list)."""
  return "n/a" if x is None or x != x else f"{x:.4f}"


def markdown_report(metrics: Dict, png_name: str) -> str:
  tasks = metrics["tasks"]
  lines = [f"# Evaluation of {metrics['model']}", ""]
  if metrics.get("context"):
    for key, value in metrics["context"].items():
      lines.append(f"- {key}: `{value}`")
    lines.append("")
  have_oracle = bool(metrics.get("oracle_ndcg"))
  headline = [("random", "random"), ("model", "model")]
  if have_oracle:
    headline += [("first_task_oracle", f"{tasks[0]} oracle"),
                 ("oracle", "oracle")]
  lines += [
      "NDCG is averaged over the query groups that have at least one positive "
      "label for the task; groups without one are left out and counted below. "
      "*random* is the exact expected NDCG of a uniformly random order of the "
      "same lists; " + (
          "*oracle* ranks by the generator's true probabilities; "
          f"*{tasks[0]} oracle* ranks every task by the true {tasks[0]} "
          "probability alone (it knows nothing of the later tasks)."
          if have_oracle else "the data have no true probabilities, so there "
          "is no oracle row."), "",
      f"![NDCG]({png_name})", "",
      "## Headline: NDCG@10 with 95% bootstrap intervals over query groups", "",
      "| task | lists | " + " | ".join(h for _, h in headline) + " |",
      "|---|---|" + "---|" * len(headline)]
  for task in tasks:
    boot = metrics["bootstrap"][task]["ndcg@10"]
    cells = []
    for ranker, _ in headline:
      b = boot.get(ranker)
      cells.append("no lists" if not b or b["ci95"] is None else
                   f"{b['mean']:.4f} [{b['ci95'][0]:.4f}, {b['ci95'][1]:.4f}]")
    lines.append(f"| {task} | {metrics['n_lists'][task]['all']} | " +
                 " | ".join(cells) + " |")
  last = tasks[-1]
  checks = metrics["bootstrap"][last]["ndcg@10"].get("checks")
  if checks:
    lines += ["", f"Final task ({last}): the model's 95% interval is "
              f"{'above' if checks['model_ci_above_random'] else 'NOT above'} "
              "the random-order expectation, and its mean is "
              f"{'below' if checks['model_below_oracle'] else 'NOT below'} "
              "the oracle and "
              f"{'above' if checks['model_above_first_task_oracle'] else '**NOT above**'} "
              f"the ranking by the true {tasks[0]} probability alone."]
  references = [("random_ndcg", "random @10")]
  if have_oracle:
    references = [("oracle_ndcg", "oracle @10"),
                  ("first_task_oracle_ndcg", f"{tasks[0]} oracle @10")
                  ] + references
  lines += ["", "## NDCG per task and platform", "",
            "| task | slice | lists | model @5 | @10 | full | " +
            " | ".join(h for _, h in references) + " |",
            "|---|---|---|---|---|---|" + "---|" * len(references)]
  for task in tasks:
    for s in platform_slices(metrics):
      m = metrics["ndcg"][task][s]
      refs = [_fmt(metrics[key][task][s]["10"]) for key, _ in references]
      lines.append(f"| {task} | {s} | {metrics['n_lists'][task][s]} | "
                   f"{_fmt(m['5'])} | {_fmt(m['10'])} | {_fmt(m['full'])} | "
                   + " | ".join(refs) + " |")
  lines += ["", "## NDCG@10 per region", "",
            f"Regions with fewer than {metrics['min_region_lists']} lists for "
            "a task are marked *too small*: their figure is noise.", "",
            "| region | " + " | ".join(f"{t} (lists)" for t in tasks) + " |",
            "|---|" + "---|" * len(tasks)]
  regions = sorted(metrics["n_lists"][tasks[0]][BY_REGION])
  for region in regions:
    cells = []
    for task in tasks:
      n = metrics["n_lists"][task][BY_REGION].get(region, 0)
      v = metrics["ndcg"][task][BY_REGION].get(region, {}).get("10")
      flag = " *too small*" if region in metrics["too_small_regions"][task] else ""
      cells.append(f"{_fmt(v)} ({n}){flag}")
    lines.append(f"| {region} | " + " | ".join(cells) + " |")
  lines += ["", "## Probability quality per listing", "",
            "| task | log loss | AUC | ECE | mean prediction | label rate |",
            "|---|---|---|---|---|---|"]
  for task in tasks:
    c = metrics["classification"][task]
    lines.append(f"| {task} | {_fmt(c['log_loss'])} | {_fmt(c['auc'])} | "
                 f"{_fmt(c['ece'])} | {_fmt(c['mean_prediction'])} | "
                 f"{_fmt(c['label_rate'])} |")
  for value in MD_VALUES:
    if metrics.get(f"md_country_{value}"):
      lines += [""] + md_mask_section(metrics[f"md_country_{value}"], value)
  return "\n".join(lines) + "\n"


# What MD learns per country: the mask m_c, and with a country shift b_c.
MD_VALUES = {
    "mask": ("MD country mask", "m_c multiplies each standardized dependent "
             "feature. *sd between countries* near 0 means the feature is "
             "weighed alike in every country"),
    "shift": ("MD country shift", "b_c is added to each masked dependent "
              "feature (m_c ⊙ x + b_c, beyond the paper). *sd between "
              "countries* near 0 means no country gets its own offset"),
}


def md_mask_section(summary: List[Dict], value: str = "mask") -> List[str]:
  """The Markdown lines of MD's country mask (or, `value` "shift", its
  country shift) per task and feature."""
  title, meaning = MD_VALUES[value]
  lines = [f"## {title}", "",
           f"{meaning}; every value is in country_masks.csv, and "
           "country_masks.png draws the masks.", "",
           "| task | feature | mean | sd between countries | min | max |",
           "|---|---|---|---|---|---|"]
  for row in summary:
    lines.append(f"| {row['task']} | {row['feature']} | {row['mean']:+.3f} | "
                 f"{row['std']:.3f} | {row['min']:+.3f} | {row['max']:+.3f} |")
  return lines


def write_report(metrics: Dict, out_dir: str) -> Dict[str, str]:
  os.makedirs(out_dir, exist_ok=True)
  paths = dict(metrics=os.path.join(out_dir, "metrics.json"),
               report=os.path.join(out_dir, "report.md"),
               plot=os.path.join(out_dir, "ndcg.png"))
  write_json(paths["metrics"], metrics)
  plot_ndcg(metrics, paths["plot"])
  write_text(paths["report"],
             markdown_report(metrics, os.path.basename(paths["plot"])))
  return paths
