"""What staff read is plain clinic language: the leaflet's and decisions' codes (L1–L10, Q1–Q10) may
appear in docstrings and comments, never in a page, a help text or a message."""

import re

# A code in parentheses, alone or among other words: "(Q4)", "(L9, Q3, Q4)", "(Q2–Q6)",
# "(3 or 4 days apart, Q5)". \b keeps lot numbers such as "L1234" out.
INTERNAL_CODE = re.compile(r"\([^()]*\b[LQ](?:10|[1-9])\b[^()]*\)")


def internal_codes(text: str) -> list[str]:
    return INTERNAL_CODE.findall(str(text))
