"""`python -m rnnlab …`, the `rnnlab` command; also what `torchrun … -m rnnlab train …` starts."""

import sys

from rnnlab.cli import main

if __name__ == "__main__":  # a process started by multiprocessing's spawn re-imports this module
    sys.exit(main())
