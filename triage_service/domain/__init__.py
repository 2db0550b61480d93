"""The clinical domain: codes, rules, forms, users and domain errors. Plain Python: no HTTP, no
Redis."""
