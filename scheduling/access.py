"""Access rules for the scheduling pages (merged into the one table in clinic/access.py)."""

ACCESS: dict = {}
