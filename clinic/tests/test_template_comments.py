"""Django's `{# … #}` comment ends at the end of its line: one left open prints itself, and the
following lines, as page text. Longer comments use {% comment %}."""

from pathlib import Path

from django.conf import settings


def test_no_template_comment_spans_two_lines():
    open_comments = []
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for template in sorted(Path(folder).rglob("*")):
            if not template.is_file():
                continue
            for number, line in enumerate(template.read_text().splitlines(), 1):
                if line.count("{#") != line.count("#}"):
                    open_comments.append(f"{template.relative_to(folder)}:{number}")
    assert open_comments == [], f"use {{% comment %}} for comments over several lines: {open_comments}"
