"""Conformance suites: the same tests for every implementation of a protocol (see STYLE.md, point 5)."""
