"""`seqmd`: the command line of the SEQ+MD pipeline.

    seqmd generate   --out DIR [--seed N] [--queries-per-day N] ...
    seqmd train      --data DIR --run-dir DIR [--model seq] [--md MODE] ...
    seqmd evaluate   --data DIR --run-dir DIR --out DIR [--split test]
    seqmd export     --run-dir DIR --export-base DIR [--version N]
    seqmd quickstart [--workdir artifacts/quickstart] [--config FILE]
    seqmd experiment paper [--quick | --full] [--out results/paper]
    seqmd experiment selector [--out results/selector]
    seqmd experiment compare --data DIR [--models seq,seq+md,shared_bottom+md]
                     [--seeds 0,1,2,3,4] [--out results/compare]
    seqmd split-features --data DIR --out DIR [--source country] [--metric wasserstein]
                     [--threshold T] [--override name=group ...] [Beam options]
    seqmd convert    --input PATH ... --out DIR [--format parquet|csv|libsvm]
                     [--group-column C] [--grades click=1,cart=2,purchase=3]
                     [--feature-map 1=name,...|FILE.json] [--constant k=v]
                     [--region-map FILE] [--funnel repair|reject] [Beam options]
    seqmd infer-schema --input PATH ... --out DIR --group-column C --region-column C
                     --tasks task=column,... [--platform-column C] [--position-column C]
                     [--oracle task=column,...] [--exclude C,...] [--no-split]
                     (LibSVM: --grades click=1,... [--feature-map M] [--region-map F])
    seqmd promote-schema --from DIR [--to data_schema/schema.pbtxt] [--dry-run]
    seqmd validate-schema [--schema FILE]
    seqmd add-task   --run-dir DIR --task cart --position 1 --out-run DIR
                     [--export-base DIR] [--finetune-steps N --data DIR]

Each subcommand is declared once in `pipelines.commands.COMMANDS`.
"""

import argparse
import os
import sys
from typing import List, Optional

from pipelines.commands import (COMMANDS, DEFAULT_CONFIG, UsageError,  # pylint: disable=unused-import
                                load_config)

# Expected failures of a stage: one line on stderr, exit status 2.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError)


def build_parser() -> argparse.ArgumentParser:
  """The parser of every subcommand in `commands.COMMANDS`."""
  parser = argparse.ArgumentParser(prog="seqmd", description=__doc__,
                                   formatter_class=argparse.RawTextHelpFormatter)
  parser.add_argument("--verbose", action="store_true",
                      help="keep TensorFlow's C++ start-up messages (CUDA, "
                      "TensorRT, CPU features), silenced by default")
  sub = parser.add_subparsers(dest="command", required=True)
  for command in COMMANDS:
    command.add_arguments(sub.add_parser(command.name, help=command.help))
  return parser


def quiet_tensorflow(verbose: bool) -> None:
  """Silences TF's C++ log lines unless asked; must run before TF loads.

  An explicit TF_CPP_MIN_LOG_LEVEL in the environment is kept."""
  if not verbose:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv: Optional[List[str]] = None) -> int:
  """Parses, dispatches to the command's `run`, and reports expected user
  errors in one line (exit 2); other exceptions keep their traceback."""
  parser = build_parser()
  args, extra = parser.parse_known_args(argv)
  quiet_tensorflow(args.verbose)
  command = next(c for c in COMMANDS if c.name == args.command)
  if extra and not command.passthrough:
    parser.error(f"unrecognized arguments: {' '.join(extra)}")
  args.argv = list(argv) if argv is not None else sys.argv[1:]
  try:
    command.run(args, extra)
  except UsageError as e:
    parser.error(str(e))
  except USER_ERRORS as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
