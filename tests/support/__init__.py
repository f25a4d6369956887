"""Helpers shared by the unit tests, integration tests and benchmarks (real services, cleaned up)."""
