"""HTTP views, one module per concern."""
