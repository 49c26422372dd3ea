import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from seqmd_tf.data.synthetic.generate import split_files
from seqmd_tf.serving.export import EXPORT_INFO, REGRESS_METHOD
from seqmd_tf.training.pipeline import load_trained_model

FORBIDDEN = ("click", "cart", "purchase", "true_click_prob", "true_cart_prob",
             "true_purchase_prob", "logged_rank")


def _records(tiny_data, n=5):
  files = split_files(tiny_data, "test")
  return [r.numpy() for r in tf.data.TFRecordDataset(files).take(n)]


def test_layout_assets_and_signatures(exported, schema):
  assert os.path.basename(exported) == "3"  # TF Serving version folder
  with open(os.path.join(exported, "assets", EXPORT_INFO)) as f:
    info = json.load(f)
  assert info["tasks"] == ["click", "cart", "purchase"]
  assert info["schema_sha256"] == schema.digest
  inputs = set(info["serving_context_features"]) | set(
      info["serving_example_features"])
  assert not inputs & set(FORBIDDEN)
  loaded = tf.saved_model.load(exported)
  assert set(loaded.signatures) == {"serving_default", "predict", "regress"}
  from tensorflow.core.protobuf import saved_model_pb2
  proto = saved_model_pb2.SavedModel()
  with open(os.path.join(exported, "saved_model.pb"), "rb") as f:
    proto.ParseFromString(f.read())
  sigs = proto.meta_graphs[0].signature_def
  assert sigs["regress"].method_name == REGRESS_METHOD
  assert list(sigs["regress"].outputs) == ["outputs"]
  assert list(sigs["serving_default"].inputs) == ["inputs"]


def test_serving_graph_parses_no_label_or_oracle_field(exported):
  from tensorflow.core.protobuf import saved_model_pb2
  proto = saved_model_pb2.SavedModel()
  with open(os.path.join(exported, "saved_model.pb"), "rb") as f:
    proto.ParseFromString(f.read())
  keys = set()
  graph = proto.meta_graphs[0].graph_def
  for fn in list(graph.library.function):
    for node in fn.node_def:
      if node.op == "ParseExampleV2" or node.op == "Const":
        t = node.attr.get("value")
        if t is not None and t.tensor.string_val:
          keys.update(v.decode() for v in t.tensor.string_val)
  assert "price_local" in keys  # the scan sees the parsed feature names
  assert not keys & set(FORBIDDEN)


def test_fresh_process_serves_the_same_scores(exported, trained_run, tiny_data,
                                              tmp_path):
  records = _records(tiny_data)
  model = load_trained_model(trained_run["run_dir"])["model"]
  local = tf.saved_model.load(exported).signatures["serving_default"](
      tf.constant(records))
  np.save(tmp_path / "requests.npy", np.array(records, dtype=object),
          allow_pickle=True)
  script = (
      "import sys, numpy as np, tensorflow as tf\n"
      "m = tf.saved_model.load(sys.argv[1])\n"
      "r = np.load(sys.argv[2], allow_pickle=True)\n"
      "out = m.signatures['serving_default'](tf.constant(list(r)))\n"
      "np.save(sys.argv[3], out['purchase'].numpy())\n"
      "assert 'tensorflow_ranking' not in sys.modules\n"
      "assert not any(k.startswith('seqmd_tf') for k in sys.modules)\n")
  subprocess.run([sys.executable, "-c", script, exported,
                  str(tmp_path / "requests.npy"), str(tmp_path / "out.npy")],
                 check=True, cwd=str(tmp_path),
                 env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  served = np.load(tmp_path / "out.npy")
  np.testing.assert_allclose(served, local["purchase"].numpy(), rtol=1e-6)
  # And the in-process Keras model gives the same probabilities.
  from seqmd_tf.data import elwc
  from seqmd_tf.data.schema import load_schema
  parse = elwc.parse_fn(load_schema(), ("feature",))
  keras_out = model(parse(tf.constant(records)))["purchase"]
  mask = local["example_list_mask"].numpy()
  np.testing.assert_allclose(served[mask], np.exp(keras_out.numpy())[mask],
                             rtol=1e-5)


def test_regress_signature_scores_single_listings(exported, tiny_data, schema):
  from seqmd_tf.data import elwc
  from tensorflow_serving.apis import input_pb2
  record = _records(tiny_data, 1)[0]
  group = input_pb2.ExampleListWithContext.FromString(record)
  examples = []
  for ex in group.examples:
    merged = tf.train.Example()
    merged.CopyFrom(ex)
    for k, v in group.context.features.feature.items():
      merged.features.feature[k].CopyFrom(v)
    examples.append(merged.SerializeToString())
  loaded = tf.saved_model.load(exported)
  reg = loaded.signatures["regress"](tf.constant(examples))["outputs"].numpy()
  pred = loaded.signatures["predict"](tf.constant([record]))["purchase"].numpy()
  np.testing.assert_allclose(reg, pred[0, :len(examples)], rtol=1e-5)


def test_saved_model_cli_shows_and_runs(exported, tiny_data, tmp_path):
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  shown = subprocess.run([cli, "show", "--dir", exported, "--all"],
                         capture_output=True, text=True, check=True, env=env)
  for name in ("serving_default", "regress", "predict", "purchase"):
    assert name in shown.stdout
  records = np.array(_records(tiny_data, 2), dtype=object)
  np.save(tmp_path / "elwc.npy", records, allow_pickle=True)
  out_dir = tmp_path / "cli_out"
  subprocess.run([cli, "run", "--dir", exported, "--tag_set", "serve",
                  "--signature_def", "serving_default", "--inputs",
                  f"inputs={tmp_path / 'elwc.npy'}", "--outdir", str(out_dir)],
                 capture_output=True, text=True, check=True, env=env)
  scores = np.load(out_dir / "purchase.npy")
  assert scores.shape[0] == 2 and np.all((scores >= 0) & (scores <= 1))
