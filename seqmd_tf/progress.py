"""Progress on long work: a tqdm bar on a terminal, plain lines elsewhere.

A tqdm bar redraws itself with carriage returns, which fill a log file or a
CI log with thousands of partial lines. `progress` gives the bar only when
the stream is a terminal; to a file or pipe it writes one line per tenth of
the total (or per `every` seconds when the total is unknown), with the time
left at the rate so far, as the bar gives it, and one at the end.
"""

import sys
import time
from typing import Iterable, Optional


def duration(seconds: float) -> str:
  """`seconds` in the unit a person reads: s, min or h."""
  if seconds < 120:
    return f"{seconds:.0f} s"
  if seconds < 7200:
    return f"{seconds / 60:.0f} min"
  return f"{seconds / 3600:.1f} h"


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
    elapsed = now - self._start
    left = ""
    if self.total and 0 < self.n < self.total:  # as tqdm's bar estimates it
      left = (f", about {duration(elapsed * (self.total - self.n) / self.n)}"
              " left at the rate so far")
    print(f"{self.desc}: {done} {self.unit}{share}, {elapsed:.0f} s{left}",
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
