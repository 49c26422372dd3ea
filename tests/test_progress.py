"""Progress: a bar on a terminal, whole lines (no carriage return) elsewhere."""

import io

from seqmd_tf.progress import progress


def test_a_pipe_gets_one_line_per_tenth_and_no_carriage_return():
  stream = io.StringIO()
  assert list(progress(range(1000), desc="work", unit="item",
                       stream=stream)) == list(range(1000))
  lines = stream.getvalue().splitlines()
  assert "\r" not in stream.getvalue()
  assert len(lines) == 10 and lines[-1].startswith("work: 1000/1000 item (100%)")
  assert all(" left at the rate so far" in line for line in lines[:-1])
  assert "left" not in lines[-1]
  bar = progress(desc="open", unit="row", stream=io.StringIO())
  bar.update(5)
  bar.close()
  assert bar.stream.getvalue().startswith("open: 5 row, ")


def test_a_terminal_gets_tqdm_and_disabled_is_silent():
  class Terminal(io.StringIO):
    def isatty(self):
      return True
  stream = Terminal()
  bar = progress(total=3, desc="bar", stream=stream)
  bar.update(3)
  bar.close()
  assert "\r" in stream.getvalue()
  quiet = io.StringIO()
  for _ in progress(range(3), enabled=False, stream=quiet):
    pass
  assert quiet.getvalue() == ""


def test_the_time_left_is_read_in_its_unit(monkeypatch):
  from seqmd_tf import progress as module
  assert [module.duration(s) for s in (59.4, 600, 9000)] == [
      "59 s", "10 min", "2.5 h"]
  clock = iter([0.0, 100.0])          # at the start, at the update
  monkeypatch.setattr(module.time, "time", lambda: next(clock))
  stream = io.StringIO()
  bar = module.LineProgress(4, "variants", "variant", stream)
  bar.update(1)
  assert stream.getvalue() == ("variants: 1/4 variant (25%), 100 s, about "
                               "5 min left at the rate so far\n")
