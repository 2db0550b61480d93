"""`python -m triage_service.tools.simulate`: play a shift or backfill (see `--help`)."""

from triage_service.tools.simulate.cli import main

main()
