"""The tools `scripts/` runs against the service: the benchmark, the shift simulation, the
browser call measurement, the screenshots, and the pages they drive in a browser.

Nothing in the service imports this package, and the service's wheel does not hold it; it
speaks the public contract through `triage_client` and, for set-up only (accounts,
sessions, backfill), the service's own functions.
"""
