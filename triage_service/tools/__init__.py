"""Clients of the service: the one API client, the valid forms, the one-call flow, the pages
driven in a browser, and the benchmark, shift simulation, browser call measurement and
screenshots that `scripts/` runs.

Nothing in the service imports this package; it speaks the public contract (API.md) and,
for set-up only (accounts, sessions, backfill), the store's own functions.
"""
