"""Jobs over worker processes, with results in job order.

The generator and the local conversion engine split their work into jobs
(chunks, input pieces, shard indices) whose outputs do not depend on where
they ran. `map_jobs` runs them in this process (one worker) or in spawned
processes: "spawn", not "fork", so that no thread or lock of the parent
(TensorFlow, Arrow, DuckDB) is copied half-held into a child. Spawned
processes re-import the caller's main module, so a script that asks for more
than one worker must guard its entry point with `if __name__ == "__main__":`
(the `seqmd` command and notebooks need nothing).
"""

import concurrent.futures
import multiprocessing
from typing import Callable, List, Optional, Sequence


def map_jobs(fn: Callable, jobs: Sequence, workers: int,
             done: Optional[Callable[[int], None]] = None) -> List:
  """[fn(job) for job in jobs] in `workers` processes; `done(i)` is called
  as the i-th result (in job order) arrives."""
  if workers == 1:
    results = []
    for job in jobs:
      results.append(fn(job))
      if done:
        done(len(results))
    return results
  results = []
  with concurrent.futures.ProcessPoolExecutor(
      workers, mp_context=multiprocessing.get_context("spawn")) as pool:
    for result in pool.map(fn, jobs):
      results.append(result)
      if done:
        done(len(results))
  return results
