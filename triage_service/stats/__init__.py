"""Statistics for supervisors and evaluators, read from counters kept by the lifecycle scripts."""
