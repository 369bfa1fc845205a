"""Reliability runs: crash recovery under SIGKILL, a ticket-store outage, and a soak.

Each module is a benchmark with a `main()` that prints its figures and writes a JSON under
benchmarks/results/; the short versions in tests/reliability/ call the same functions."""
