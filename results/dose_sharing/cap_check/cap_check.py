import sys, json
from pipelines.experiments.paper import load_paper_config, mode_settings
from pipelines.experiments.runner import Runner
from pipelines.experiments.plan import Variant
from seqmd_tf.data.schema import load_schema
config = load_paper_config("pipelines/configs/dose.json", "default")
m = mode_settings(config, "default", ["dose_sharing"], [0])
train = dict(m.get("train", {})); train["epochs"] = int(sys.argv[1])
runner = Runner("/tmp/capcheck", load_schema(), m.get("world", {}), config.get("data_seed", 0),
                config.get("models", {}), train, world_overrides=m.get("world_overrides", {}))
v = Variant(world="sharing_1", tasks=("click", "purchase"), model="seq")
r = runner.run(v, 0, float(sys.argv[2]))
print(r)
