"""`python -m triage_tools.simulate`: play a shift or backfill (see `--help`)."""

from triage_tools.simulate.cli import main

main()
