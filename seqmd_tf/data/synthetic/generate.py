"""Streams the synthetic world into sharded ELWC TFRecords plus a manifest.

Layout of the output folder::

    <out>/train/part-d000-c000.tfrecord ...   (one shard per day and chunk)
    <out>/valid/...  <out>/test/...
    <out>/schema.pbtxt                        (the schema it follows)
    <out>/manifest.json                       (written last)

Each chunk is sampled, serialized and written on its own (memory stays flat
whatever the number of days), to a temporary name that is renamed when
complete. The manifest is written last, so a folder without one is
incomplete. Chunks are seeded from (seed, day, chunk), so the bytes do not
depend on the number of worker processes.
"""

import dataclasses
import json
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
from seqmd_tf.choices import SPLITS
from seqmd_tf.processes import map_jobs
from seqmd_tf.progress import progress as progress_bar

from seqmd_tf.data.elwc_encoder import encode_groups
from seqmd_tf.data.tfrecord_io import AtomicWriter
from seqmd_tf.data.dataset_schema import keep_schema
from seqmd_tf.paths import inside, write_json
from seqmd_tf.data.schema import SearchLogSchema, load_schema
from seqmd_tf.data.synthetic.sampler import sample_chunk
from seqmd_tf.data.synthetic.world import (GENERATOR_VERSION, REGIONS,
                                           TRUE_DEPENDENT_FEATURES, WorldConfig)

MANIFEST = "manifest.json"
_COUNTED = ("click", "cart", "purchase")


def _shard_name(day: int, chunk: int) -> str:
  return f"part-d{day:03d}-c{chunk:03d}.tfrecord"


def _chunks(config: WorldConfig) -> List[Tuple[int, int, int]]:
  out = []
  for day in range(config.total_days):
    remaining, chunk = config.queries_per_day, 0
    while remaining > 0:
      size = min(config.shard_queries, remaining)
      out.append((day, chunk, size))
      remaining -= size
      chunk += 1
  return out


def _write_chunk(args) -> Dict:
  """Samples and writes one shard; returns its counts (runs in a worker)."""
  out_dir, schema_path, config, seed, day, chunk, size = args
  schema = load_schema(schema_path)
  data = sample_chunk(config, seed, day, chunk, size)
  split = config.split_of_day(day)
  writer = AtomicWriter(inside(out_dir, split, _shard_name(day, chunk)))
  for record in encode_groups(schema, data.context, data.example,
                              data.list_lengths):
    writer.write(record)
  writer.close()
  offsets = np.concatenate([[0], np.cumsum(data.list_lengths)])
  counts = {}
  rows_region = np.repeat(data.context["country"], data.list_lengths)
  rows_platform = np.repeat(data.context["platform"], data.list_lengths)
  for region in np.unique(data.context["country"]):
    for platform in ("web", "app"):
      gsel = ((data.context["country"] == region) &
              (data.context["platform"] == platform))
      if not gsel.any():
        continue
      rsel = (rows_region == region) & (rows_platform == platform)
      counts[f"{region}/{platform}"] = dict(
          groups=int(gsel.sum()), impressions=int(rsel.sum()),
          **{k: int(data.example[k][rsel].sum()) for k in _COUNTED})
  return dict(split=split, shard=os.path.join(split, _shard_name(day, chunk)),
              groups=data.num_groups, impressions=int(offsets[-1]),
              groups_before_filter=data.groups_before_filter,
              impressions_before_filter=data.impressions_before_filter,
              counts=counts)


def _summarise(results: List[Dict]) -> Dict:
  summary = {}
  for split in SPLITS:
    rows = [r for r in results if r["split"] == split]
    cells: Dict[str, Dict[str, int]] = {}
    for r in rows:
      for key, c in r["counts"].items():
        cell = cells.setdefault(key, dict.fromkeys(c, 0))
        for k, v in c.items():
          cell[k] += v
    total = {k: sum(c[k] for c in cells.values())
             for k in ("groups", "impressions") + _COUNTED}
    by_region: Dict[str, Dict[str, int]] = {}
    by_platform: Dict[str, Dict[str, int]] = {}
    for key, c in sorted(cells.items()):
      region, platform = key.split("/")
      for table, name in ((by_region, region), (by_platform, platform)):
        acc = table.setdefault(name, dict.fromkeys(c, 0))
        for k, v in c.items():
          acc[k] += v
    imp = max(total["impressions"], 1)
    summary[split] = dict(
        shards=sorted(r["shard"] for r in rows),
        totals=total,
        groups_before_filter=sum(r["groups_before_filter"] for r in rows),
        impressions_before_filter=sum(r["impressions_before_filter"]
                                      for r in rows),
        label_rates=dict(
            click_per_impression=total["click"] / imp,
            cart_per_click=total["cart"] / max(total["click"], 1),
            purchase_per_click=total["purchase"] / max(total["click"], 1),
            purchase_per_cart=total["purchase"] / max(total["cart"], 1)),
        by_region=by_region, by_platform=by_platform, by_region_platform=cells)
  return summary


def read_manifest(out_dir: str) -> Optional[Dict]:
  path = os.path.join(out_dir, MANIFEST)
  if not os.path.exists(path):
    return None
  with open(path, "r", encoding="utf-8") as f:
    return json.load(f)


def generate(out_dir: str, config: Optional[WorldConfig] = None, seed: int = 0,
             schema: Optional[SearchLogSchema] = None, workers: int = 1,
             progress: bool = True, overwrite: bool = False) -> Dict:
  """Generates the world into `out_dir`; returns the manifest.

  An existing complete folder made with the same seed, config, schema and
  generator version is reused. One that differs in `test_days` alone gets
  a new test split and keeps its train and valid shards, which do not
  depend on the number of test days (a chunk is seeded from its day, and
  the test days come last). With any other settings it is an error unless
  `overwrite`.
  """
  config = (config or WorldConfig()).validate()
  if not isinstance(seed, int) or seed < 0:
    raise ValueError(f"invalid generator argument: seed must be an integer "
                     f">= 0, got {seed!r}")
  if workers < 1:
    raise ValueError(f"invalid generator argument: workers must be >= 1, got "
                     f"{workers}")
  if config.queries_per_day > config.shard_queries * 1000:
    raise ValueError("invalid generator argument: queries_per_day is larger "
                     "than 1000 chunks of shard_queries")
  schema = schema or load_schema()
  missing = [f.name for f in schema.features
             if f.name not in _GENERATED_FIELDS]
  if missing:
    raise ValueError(f"{schema.path}: the generator does not produce the "
                     f"schema field(s) {missing}")
  identity = dict(generator_version=GENERATOR_VERSION, seed=seed,
                  schema_sha256=schema.digest,
                  world=dataclasses.asdict(config))
  existing = read_manifest(out_dir)
  kept: Tuple[str, ...] = ()  # splits whose shards and summary stay
  if existing is not None and not overwrite:
    if {k: existing.get(k) for k in identity} == identity:
      return existing
    if not _differs_in_test_days_only(existing, identity):
      raise ValueError(f"{out_dir}: holds a dataset generated with other "
                       "settings; choose another folder or pass overwrite")
    kept = ("train", "valid")
  for split in SPLITS:
    os.makedirs(os.path.join(out_dir, split), exist_ok=True)
  if existing is not None:
    os.remove(os.path.join(out_dir, MANIFEST))
  jobs = [(out_dir, schema.path, config, seed, d, c, n)
          for d, c, n in _chunks(config) if config.split_of_day(d) not in kept]
  expected = {os.path.join(config.split_of_day(d), _shard_name(d, c))
              for d, c, _ in _chunks(config)}
  for split in SPLITS:  # leftovers of an interrupted or different run
    for name in os.listdir(os.path.join(out_dir, split)):
      if os.path.join(split, name) not in expected:
        os.remove(os.path.join(out_dir, split, name))
  bar = progress_bar(total=len(jobs), desc="generate shards", unit="shard",  # reliability row 15
                     enabled=progress)
  results = map_jobs(_write_chunk, jobs, workers, lambda _: bar.update())
  bar.close()
  keep_schema(out_dir, schema)
  manifest = dict(identity)
  manifest.update(
      regions=[dataclasses.asdict(r) for r in REGIONS],
      true_dependent_features=list(TRUE_DEPENDENT_FEATURES),
      tasks=list(schema.tasks),
      splits=dict(_summarise(results),
                  **{split: existing["splits"][split] for split in kept}))
  write_json(os.path.join(out_dir, MANIFEST), manifest)
  return manifest


def without_test_days(world: Dict) -> Dict:
  """A world config's values (as a manifest keeps them) without its test
  days: what its train and valid shards depend on, since a chunk is seeded
  from its day and the test days come last."""
  return dict(world, test_days=None)


def _differs_in_test_days_only(existing: Dict, identity: Dict) -> bool:
  """Whether a folder's manifest has `identity` but for the world's
  `test_days`: its train and valid shards are the ones `identity` makes."""
  def training_data(manifest):
    return dict({k: manifest.get(k) for k in identity},
                world=without_test_days(manifest.get("world") or {}))
  return training_data(existing) == training_data(identity)


def split_files(data_dir: str, split: str) -> List[str]:
  """The shard paths of a split of a complete dataset folder."""
  manifest = read_manifest(data_dir)
  if manifest is None:
    raise FileNotFoundError(f"{data_dir}: no {MANIFEST}; the dataset is "
                            "missing or incomplete (run `seqmd generate`)")
  if split not in manifest["splits"]:
    raise ValueError(f"{data_dir}: no split '{split}' (have "
                     f"{sorted(manifest['splits'])})")
  return [os.path.join(data_dir, p) for p in manifest["splits"][split]["shards"]]


_GENERATED_FIELDS = frozenset(
    ["query_id", "day", "country", "platform", "query_length",
     "user_purchase_count", "relevance_score", "image_quality",
     "listing_rating", "historical_ctr", "title_length", "listing_age_days",
     "price_local", "shipping_cost_local", "delivery_days", "is_domestic",
     "regional_sales_count", "regional_view_count", "shop_regional_reviews",
     "favorites_count", "logged_rank", "click", "cart", "purchase",
     "true_click_prob", "true_cart_prob", "true_purchase_prob"])
