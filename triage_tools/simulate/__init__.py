"""The shift simulation: officers and clinicians playing a realistic shift through the public
API in compressed time, and a backfill of past weeks through the lifecycle functions."""
