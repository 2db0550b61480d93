"""`python -m triage_service ...` runs the `triage-service` command."""

from triage_service.cli import main

main()
