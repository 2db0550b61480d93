"""The one client of the service, outside it: the API client, the valid forms, the one-call
flow and headless aiortc peers, used by the tests, the tools and the simulation.

It speaks the public contract (API.md) and takes from the service only its names (roles,
the session cookie, the ICE configuration); nothing in the service imports it, and the
service's wheel does not hold it.
"""
