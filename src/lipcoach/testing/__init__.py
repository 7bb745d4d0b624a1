"""Test-data makers shared by tests, benchmarks and demos (generated material only)."""
