"""`python -m triage_service.tools.bench`: the whole benchmark (see `--help`)."""

from triage_service.tools.bench.cli import main

main()
