import importlib.metadata as md
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_exactly_one_tensorflow_and_pins_installed():
  names = {d.metadata["Name"].lower() for d in md.distributions()}
  tf_like = {n for n in names if n in ("tensorflow", "tensorflow-cpu",
                                       "tensorflow-intel", "tf-nightly",
                                       "tensorflow-macos", "tf-keras")}
  assert tf_like == {"tensorflow"}
  with open(os.path.join(ROOT, "requirements.txt")) as f:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s#]+)", f.read(),
                      re.M)
  for name, version in pins:
    assert md.version(name) == version, name


def test_layers_do_not_import_tensorflow_ranking():
  code = ("import sys; import seqmd_tf.layers, seqmd_tf.models, "
          "seqmd_tf.evaluation.ndcg, seqmd_tf.training.losses; "
          "assert 'tensorflow_ranking' not in sys.modules, 'tfr imported'")
  subprocess.run([sys.executable, "-c", code], check=True,
                 env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def test_console_script_help():
  exe = os.path.join(os.path.dirname(sys.executable), "seqmd")
  out = subprocess.run([exe, "--help"], capture_output=True, text=True,
                       check=True).stdout
  for sub in ("generate", "train", "evaluate", "export", "quickstart"):
    assert sub in out
