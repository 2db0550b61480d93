"""Views: one module per part of the REST API and the server-rendered pages; each view parses,
calls and renders."""
