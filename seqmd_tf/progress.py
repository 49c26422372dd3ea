"""Progress on long work: a tqdm bar on a terminal, plain lines elsewhere.

A tqdm bar redraws itself with carriage returns, which fill a log file or a
CI log with thousands of partial lines. `progress` gives the bar only when
the stream is a terminal; to a file or pipe it writes one line per tenth of
the total (or per `every` seconds when the total is unknown), and one at the
end.
"""

import sys
import time
from typing import Iterable, Optional


class LineProgress:
  """tqdm's update / write / close interface, as whole lines."""

  def __init__(self, total: Optional[int], desc: str, unit: str, stream,
               every: float = 60.0):
    self.total, self.desc, self.unit, self.stream = total, desc, unit, stream
    self.every, self.n, self._start = every, 0, time.time()
    self._shown_tenth, self._shown_at = 0, self._start

  def update(self, n: int = 1) -> None:
    self.n += n
    now = time.time()
    if self.total:
      tenth = int(10 * self.n / self.total)
      if tenth > self._shown_tenth and self.n < self.total:
        self._shown_tenth = tenth
        self._line(now)
    elif now - self._shown_at >= self.every:
      self._shown_at = now
      self._line(now)

  def _line(self, now: float) -> None:
    done = f"{self.n}/{self.total}" if self.total else str(self.n)
    share = f" ({self.n / self.total:.0%})" if self.total else ""
    print(f"{self.desc}: {done} {self.unit}{share}, {now - self._start:.0f} s",
          file=self.stream, flush=True)

  def write(self, text: str) -> None:
    print(text, file=self.stream, flush=True)

  def close(self) -> None:
    self._line(time.time())


def progress(iterable: Optional[Iterable] = None, total: Optional[int] = None,
             desc: str = "", unit: str = "it", enabled: bool = True,
             stream=None):
  """A progress reporter (iterable when `iterable` is given)."""
  stream = stream or sys.stderr
  if iterable is not None and total is None and hasattr(iterable, "__len__"):
    total = len(iterable)
  if not enabled:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    return tqdm(iterable, total=total, disable=True)
  if getattr(stream, "isatty", lambda: False)():
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream)
  bar = LineProgress(total, desc, unit, stream)
  return bar if iterable is None else _iterate(iterable, bar)


def _iterate(iterable: Iterable, bar: LineProgress):
  for item in iterable:
    yield item
    bar.update()
  bar.close()
