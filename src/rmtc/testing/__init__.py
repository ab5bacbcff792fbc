"""Test helpers that facilities can run against their own implementations."""
