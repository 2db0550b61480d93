"""HTTP: the aiohttp app's wiring, middleware, sign-in checks, endpoint declarations, OpenAPI and
views."""
