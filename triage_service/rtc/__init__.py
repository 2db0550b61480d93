"""aiortc peers run by the service: the connection-test echo peer and headless call peers.

Media between officer and clinician never passes through the server (see DESIGN.md); these
peers exist only for the pre-call test and for tests, simulation and benchmarks.
"""
