"""WebRTC on the server side: the connection-test echo peer and minted TURN credentials.

Media between officer and clinician never passes through the server (see DESIGN.md); the
echo peer exists only for the pre-call test. The headless call peers that tests, the
simulation and the benchmark use are clients: they live in `triage_client`.
"""
