"""Data input: files to validated tables."""
