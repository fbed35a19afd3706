"""The calendar's grid (time rows × columns) built in Python: one list of rows whose cells carry
their CSS class and ready, escaped HTML, so `_calendar.html` is a flat loop. Each cell through the
template engine (conditions, filters, three `{% url %}` tags per appointment) cost most of a week
view's time at clinic-group scale (figure 3); the markup is the same."""

import html
from dataclasses import dataclass

from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import escape as django_escape
from django.utils.safestring import SafeString, mark_safe

from .models import AppointmentKind, AppointmentState
from .selectors import BY_ROOM, Calendar

# The standard library's escape (the same five characters as Django's) without Django's lazy-string
# wrapper around each call: ~100 names a week view.
escape = html.escape
BUSY, CLOSED, UNAVAILABLE = "bg-primary-subtle", "bg-secondary-subtle", "bg-body-tertiary"


@dataclass(frozen=True, slots=True)
class GridCell:
    css: str
    html: SafeString


@dataclass(frozen=True, slots=True)
class GridRow:
    time: str  # "H:i"
    cells: list[GridCell]

    @property
    def cells_html(self) -> SafeString:
        """The row's <td> cells, joined here rather than looped over in the template (~170 cells
        a week, each two variable lookups there)."""
        return mark_safe(  # noqa: S308 - css is one of our constants, html escaped in grid_rows
            "".join(f'<td class="{cell.css}">{cell.html}</td>' for cell in self.cells)
        )


def grid_rows(cal: Calendar) -> list[GridRow]:
    """One row per 30-minute slot: the time, then a cell per column (appointments starting in the
    slot, or a "+ free" booking link prefilled with date, time and the column's practitioner or room)."""
    detail_url = reverse("scheduling:appointment_detail", args=[0]).removesuffix("0/")
    patient_url = reverse("patients:detail", args=[0]).removesuffix("0/")
    new_url = reverse("scheduling:appointment_new")
    # Labels escaped once (they are lazy translations: each use would translate and escape again).
    kinds = {value: django_escape(label) for value, label in AppointmentKind.choices}
    states = {value: django_escape(f" · {label}") for value, label in AppointmentState.choices}
    states[AppointmentState.BOOKED] = ""
    zone = timezone.get_current_timezone()
    by_room = cal.by == BY_ROOM

    def appointment_html(appointment) -> str:
        sequence = f" {appointment.sequence}" if appointment.sequence else ""
        where = appointment.practitioner_name if by_room else appointment.room_name
        stranded = (
            '<span class="badge text-bg-warning d-block text-wrap">Outside hours: move it</span>'
            if appointment.pk in cal.stranded
            else ""
        )
        return (
            f'<div class="small"><a class="text-decoration-none" href="{detail_url}{appointment.pk}/">'
            f"<strong>{appointment.starts_at.astimezone(zone):%H:%M}</strong> "
            f"{kinds[appointment.kind]}{escape(sequence)}</a> "
            f'<a class="d-block" href="{patient_url}{appointment.patient_id}/">'
            f"{escape(appointment.patient_name)}</a> "
            f'<span class="d-block text-body-secondary">{escape(where)}'
            f"{states[appointment.state]}</span>{stranded}</div>"
        )

    columns = []
    for column in cal.columns:
        # What each of the column's free slots adds to its link and its label.
        query, label = "", ""
        if column.practitioner:
            query += f"&amp;practitioner={column.practitioner.pk}"
            label += f" with {escape(column.practitioner.name)}"
        if column.room:
            query += f"&amp;room={column.room.pk}"
            label += f" in {escape(str(column.room))}"
        cells = []
        day_label = None  # the column's day as the free links say it, formatted once
        for cell in column.cells:
            parts = [appointment_html(a) for a in cell.appointments]
            if cell.free:
                local = cell.starts_at.astimezone(zone)
                at = f"{local:%H:%M}"
                if day_label is None:
                    day_label = f"{local:%Y-%m-%d}", escape(dateformat.format(local, "D j M"))
                parts.append(
                    f'<a class="d-block small text-success-emphasis text-decoration-none slot-free" '
                    f'href="{new_url}?date={day_label[0]}&amp;time={at}{query}"'
                    # The link's name starts with what it shows (WCAG 2.5.3), then says what it books.
                    f'>+ free<span class="visually-hidden">: book '
                    f"{day_label[1]} at {at}{label}</span></a>"
                )
            if cell.appointments or cell.busy:
                css = BUSY
            elif cell.closed:
                css = CLOSED
            elif not cell.free:
                css = UNAVAILABLE
            else:
                css = ""
            cells.append(GridCell(css=css, html=mark_safe(" ".join(parts))))  # noqa: S308 - escaped above
        columns.append(cells)
    return [GridRow(f"{t:%H:%M}", [cells[i] for cells in columns]) for i, t in enumerate(cal.times)]
