import numpy as np

from seqmd_tf.data.parsed import ParsedSplit
from seqmd_tf.data.synthetic.generate import split_files
from seqmd_tf.training.input import (ElwcFiles, ParsedSplits,
                                     SeqMDDatasetBuilder)
from seqmd_tf.training.pipeline import TrainConfig


def test_parsed_split_serves_the_tensors_of_the_tfr_builder(tiny_data, schema):
  tasks = ["click", "purchase"]
  files = split_files(tiny_data, "valid")
  config = TrainConfig(tasks=tasks, valid_batch_size=64)
  from_files = SeqMDDatasetBuilder(
      schema, tasks, ElwcFiles(schema, files, files, config), config)
  parsed = ParsedSplit.from_files(files, schema, ("feature", "label"))
  from_parsed = SeqMDDatasetBuilder(
      schema, tasks, ParsedSplits({"train": parsed, "valid": parsed}), config)
  a = list(from_files.build_valid_dataset())
  b = list(from_parsed.build_valid_dataset())
  assert len(a) == len(b)
  for (fa, la), (fb, lb) in zip(a, b):
    assert sorted(fa) == sorted(fb)
    width = fb["example_list_mask"].shape[1]
    for name in fa:
      x, y = fa[name].numpy(), fb[name].numpy()
      if x.ndim >= 2 and x.shape[1] != 1 and name in parsed.example_names:
        x = x[:, :width]
      np.testing.assert_array_equal(x, y, err_msg=name)
    for task in tasks:
      np.testing.assert_array_equal(la[task].numpy()[:, :width], lb[task].numpy())
  assert parsed.num_lists == sum(x[0]["example_list_mask"].shape[0] for x in a)


def test_training_on_parsed_splits(tiny_data, schema, tmp_path):
  from seqmd_tf.models import ModelConfig
  from seqmd_tf.training import pipeline
  parsed = {s: ParsedSplit.from_files(split_files(tiny_data, s), schema,
                                      ("feature", "label"))
            for s in ("train", "valid")}
  result = pipeline.train(
      schema, [], [], str(tmp_path), ModelConfig(name="shared_bottom", md="input",
                                                 bottom_units=[8], tower_units=[4]),
      TrainConfig(epochs=1, batch_size=64, tasks=["click", "purchase"]),
      verbose=0, parsed=parsed)
  assert result["summary"]["epochs_run"] == 1
