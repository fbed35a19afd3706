"""The patient list's table rows built in Python: ~10 values a row through the template engine
(variable lookups, filters, localisation, auto-escaping) cost most of a search page's CPU (issue 19,
figure 6); the markup is what `_results.html` showed."""

import html

from django.utils.safestring import SafeString, mark_safe

escape = html.escape  # the same five characters as Django's escape, without its lazy-string wrapper


def row_html(row: dict, detail_prefix: str) -> str:
    """One <tr> of the list for a `selectors.search_page` row; every value escaped."""
    archived = row["archived_at"] is not None
    preferred = row["preferred_name"]
    name = (
        f'<a class="fw-semibold text-decoration-none" href="{detail_prefix}{row["id"]}/">'
        f"{escape(row['family_name'])}, {escape(row['given_name'])}</a>"
    )
    if preferred and preferred != row["given_name"]:
        name += f' <span class="text-body-secondary">“{escape(preferred)}”</span>'
    if archived:
        name += ' <span class="badge text-bg-secondary ms-1">Archived</span>'
    if row["phone"]:
        shown = escape(row["phone_display"] or row["phone"])
        phone = f'<a class="text-decoration-none" href="tel:{escape(row["phone"])}">{shown}</a>'
    else:
        phone = '<span class="text-body-secondary">—</span>'
    born = row["date_of_birth"]
    # "j M Y" as the `date` filter wrote it, without a DateFormat and its translations each row.
    born = f"{born.day} {born:%b} {born.year:04d}"
    muted = ' class="text-body-secondary"' if archived else ""
    return (
        f"<tr{muted}>"
        f"<td>{name}</td>"
        f'<td class="font-monospace small text-nowrap">{escape(row["chart_number"])}</td>'
        f'<td class="text-nowrap">{born} <span class="text-body-secondary small">({row["age"]})</span></td>'
        f'<td class="text-nowrap">{phone}</td>'
        f'<td class="d-none d-md-table-cell text-truncate">{escape(row["email"]) or "—"}</td></tr>'
    )


def rows_html(rows: list[dict], detail_prefix: str) -> SafeString:
    return mark_safe("\n".join(row_html(row, detail_prefix) for row in rows))  # noqa: S308 - escaped above
