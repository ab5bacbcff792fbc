"""Ingest: files, folders and frame sequences into assets, by copy or by reference."""
