"""`python -m rnnlab …`: the same as the `rnnlab` command; also what torchrun starts (`torchrun … -m rnnlab train …`)."""

import sys

from rnnlab.cli import main

if __name__ == "__main__":  # a process started by multiprocessing's spawn re-imports this module
    sys.exit(main())
