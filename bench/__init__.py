"""Benchmarks of rmtc against the limits of the machine and its peers (DVC, MLflow)."""
