import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_colab_page_runs():
  with open(os.path.join(ROOT, "docs", "colab.md"), encoding="utf-8") as f:
    blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
  assert len(blocks) >= 3
  namespace = {}
  for block in blocks:
    exec(compile(block, "docs/colab.md", "exec"), namespace)  # pylint: disable=exec-used
  history = namespace["history"].history
  assert len(history["val_purchase_ndcg_10"]) == 2
