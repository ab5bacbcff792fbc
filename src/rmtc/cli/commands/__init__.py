"""Command groups, one module per noun."""
