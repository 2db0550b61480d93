"""`python -m triage_tools.bench`: the whole benchmark (see `--help`)."""

from triage_tools.bench.cli import main

main()
