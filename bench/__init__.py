"""Benchmarks and the performance budget (`make bench`)."""
