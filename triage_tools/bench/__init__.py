"""The benchmark: a private deployment on free ports, then latency, throughput, call set-up,
capacity and fan-out, and the statistics' flatness, reported as JSON and a table."""
