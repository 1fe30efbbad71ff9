"""Shared PTF infrastructure: P4Runtime client, base test class and launcher (README.md)."""
