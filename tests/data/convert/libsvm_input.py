"""LibSVM inputs made from the tiny synthetic dataset (the `impressions`
table is in tests/conftest.py)."""

import json
import os

LIBSVM_FEATURES = (
    "query_length", "user_purchase_count", "relevance_score", "image_quality",
    "listing_rating", "historical_ctr", "title_length", "listing_age_days",
    "price_local", "shipping_cost_local", "delivery_days", "is_domestic",
    "regional_sales_count", "regional_view_count", "shop_regional_reviews",
    "favorites_count", "logged_rank")


def write_libsvm(frame, folder):
  """Writes `frame` as LibSVM (grade = deepest funnel step), the feature
  map, and a region map; returns their paths."""
  index = {name: i + 1 for i, name in enumerate(LIBSVM_FEATURES)}
  path = os.path.join(folder, "logs.libsvm")
  with open(path, "w", encoding="utf-8") as f:
    f.write("# grade qid features\n")
    for row in frame.itertuples(index=False):
      grade = 3 if row.purchase else 2 if row.cart else 1 if row.click else 0
      feats = " ".join(f"{i}:{getattr(row, n)!r}" for n, i in index.items()
                       if getattr(row, n) != 0)
      f.write(f"{grade} qid:{row.query_id} {feats} # listing\n")
  fmap = os.path.join(folder, "features.json")
  with open(fmap, "w", encoding="utf-8") as f:
    json.dump({str(i): n for n, i in index.items()}, f)
  regions = os.path.join(folder, "regions.csv")
  first = frame.groupby("query_id")["country"].first()
  with open(regions, "w", encoding="utf-8") as f:
    f.write("group_id,region\n")
    for qid, country in first.items():
      f.write(f"{qid},{country}\n")
  return dict(data=path, feature_map=fmap, regions=regions)
