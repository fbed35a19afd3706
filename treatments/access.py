"""Access rules for the treatments pages (merged into the one table in clinic/access.py)."""

ACCESS: dict = {}
