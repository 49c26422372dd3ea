"""`seqmd quickstart` (`make run`): generate, train SEQ+MD, evaluate and export
on the embedded synthetic data, with the stages a user would run by hand."""

import argparse
import os
from typing import Dict

from pipelines import stages
from pipelines.commands import (keras_verbosity, load_config, model_config,
                                train_config, world_config)


def run_quickstart(workdir: str, config_path: str) -> Dict[str, str]:
  """Runs the four stages under `workdir`; returns the output paths."""
  config = load_config(config_path)
  args = argparse.Namespace()
  data_dir = os.path.join(workdir, "data")
  run_dir = os.path.join(workdir, "run")
  eval_dir = os.path.join(workdir, "evaluation")
  export_base = os.path.join(workdir, "export", "seq_md")
  print(f"[1/4] generate  -> {data_dir}", flush=True)
  stages.generate_stage(data_dir, world_config(args, config),
                        seed=int(config.get("seed", 0)),
                        workers=int(config.get("workers", 1)))
  print(f"[2/4] train     -> {run_dir}", flush=True)
  if os.path.exists(os.path.join(run_dir, "history.json")):
    print("      (a finished run is there; reusing it)")
  else:
    stages.train_stage(data_dir, run_dir, model_config(args, config),
                       train_config(args, config), verbose=keras_verbosity())
  print(f"[3/4] evaluate  -> {eval_dir}", flush=True)
  evaluation = stages.evaluate_stage(data_dir, run_dir, eval_dir,
                                     **config.get("evaluate", {}))
  print(f"[4/4] export    -> {export_base}", flush=True)
  saved_model = stages.export_stage(run_dir, export_base)
  _print_headline(evaluation["metrics"])
  paths = dict(report=evaluation["paths"]["report"],
               metrics=evaluation["paths"]["metrics"],
               plot=evaluation["paths"]["plot"], saved_model=saved_model,
               run=run_dir, data=data_dir)
  print("\nOutputs:")
  for key, value in paths.items():
    print(f"  {key:12s} {os.path.abspath(value)}")
  return paths


def _print_headline(metrics: Dict) -> None:
  last = metrics["tasks"][-1]
  boot = metrics["bootstrap"][last]["ndcg@10"]
  print(f"\nTest NDCG@10 of the final task ({last}, "
        f"{metrics['n_lists'][last]['all']} lists):")
  for ranker in ("random", "model", "oracle"):
    if ranker in boot:
      b = boot[ranker]
      print(f"  {ranker:7s} {b['mean']:.4f}  95% CI [{b['ci95'][0]:.4f}, "
            f"{b['ci95'][1]:.4f}]")
