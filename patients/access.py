"""Access rules for the patients pages (merged into the one table in clinic/access.py)."""

ACCESS: dict = {}
