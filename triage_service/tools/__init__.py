"""Clients of the service: the one API client, the valid forms, the one-call flow, and the
benchmark, shift simulation and browser call measurement that `scripts/` runs.

Nothing in the service imports this package; it speaks the public contract (API.md) and,
for set-up only (accounts, sessions, backfill), the store's own functions.
"""
