"""The calendar's markup built in Python: the columns' headings, the grid's rows (time × columns, each
cell's CSS class and escaped HTML) and the week's practitioner or room options, so `_calendar.html`
prints them whole.
Each cell through the template engine (conditions, filters, three `{% url %}` tags per appointment)
cost most of a week view's time at clinic-group scale (figure 3), and a template loop over ~30
options as much as the rest of the page's markup (issue 19); the markup is the same, whitespace
included."""

import html

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape as django_escape
from django.utils.safestring import SafeString, mark_safe

from .availability import day_label
from .models import AppointmentKind, AppointmentState
from .selectors import BY_ROOM, WEEK_VIEW, Calendar

# The standard library's escape (the same five characters as Django's) without Django's lazy-string
# wrapper around each call: ~100 names a week view.
escape = html.escape
BUSY, CLOSED, UNAVAILABLE = "bg-primary-subtle", "bg-secondary-subtle", "bg-body-tertiary"
# A column's heading and one row of the grid as the template's loops printed them, indentation and
# line breaks included.
HEADING = (
    '\n          <th scope="col"{today}>\n            {label}\n            {note}\n'
    "          </th>\n          "
)
ROW = (
    '\n        <tr>\n          <th scope="row" class="small text-body-secondary fw-normal text-nowrap">'
    "{time}</th>\n          {cells}\n        </tr>\n        "
)


def grid_html(cal: Calendar) -> SafeString:
    """The grid's rows, one per 30-minute slot: the time, then a cell per column (appointments starting
    in the slot, or a "+ free" booking link prefilled with date, time and the column's practitioner or
    room)."""
    detail_url = reverse("scheduling:appointment_detail", args=[0]).removesuffix("0/")
    patient_url = reverse("patients:detail", args=[0]).removesuffix("0/")
    new_url = reverse("scheduling:appointment_new")
    # Labels escaped once (they are lazy translations: each use would translate and escape again).
    kinds = {value: django_escape(label) for value, label in AppointmentKind.choices}
    states = {value: django_escape(f" · {label}") for value, label in AppointmentState.choices}
    states[AppointmentState.BOOKED] = ""
    zone = timezone.get_current_timezone()
    by_room = cal.by == BY_ROOM
    # A slot starts at its row's time on its column's day, in the clinic's zone (build_calendar),
    # which is the current one (no view activates another): its labels are the row's and the day's.
    times = [f"{t:%H:%M}" for t in cal.times]

    escaped = {}  # the rooms' or practitioners' names, escaped once each (a week has ~90 appointments)

    def appointment_html(appointment) -> str:
        sequence = f" {appointment.sequence}" if appointment.sequence else ""  # an integer
        where = appointment.practitioner_name if by_room else appointment.room_name
        where_html = escaped.get(where)
        if where_html is None:
            where_html = escaped[where] = escape(where)
        stranded = (
            '<span class="badge text-bg-warning d-block text-wrap">Outside hours: move it</span>'
            if appointment.pk in cal.stranded
            else ""
        )
        return (
            f'<div class="small"><a class="text-decoration-none" href="{detail_url}{appointment.pk}/">'
            f"<strong>{appointment.starts_at.astimezone(zone):%H:%M}</strong> "
            f"{kinds[appointment.kind]}{sequence}</a> "
            f'<a class="d-block" href="{patient_url}{appointment.patient_id}/">'
            f"{escape(appointment.patient_name)}</a> "
            f'<span class="d-block text-body-secondary">{where_html}'
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
        # A free slot's link, before and after each place its time goes (formatted once a column).
        free_start = (
            '<a class="d-block small text-success-emphasis text-decoration-none slot-free" '
            f'href="{new_url}?date={column.day.isoformat()}&amp;time='
        )
        # The link's name starts with what it shows (WCAG 2.5.3), then says what it books.
        free_middle = (
            f'{query}">+ free<span class="visually-hidden">: book {escape(day_label(column.day))} at '
        )
        free_end = f"{label}</span></a>"
        cells = []
        for at, cell in zip(times, column.cells, strict=True):
            if cell.appointments:  # (never free: build_calendar marks only empty slots)
                content = " ".join(appointment_html(a) for a in cell.appointments)
            elif cell.free:
                content = f"{free_start}{at}{free_middle}{at}{free_end}"
            else:
                content = ""
            if cell.appointments or cell.busy:
                css = BUSY
            elif cell.closed:
                css = CLOSED
            elif not cell.free:
                css = UNAVAILABLE
            else:
                css = ""
            cells.append(f'<td class="{css}">{content}</td>')
        columns.append(cells)
    rows = zip(*columns, strict=True) if columns else ([] for _ in times)
    return mark_safe(  # noqa: S308 - css is one of our constants, every value escaped above
        "".join(ROW.format(time=time, cells="".join(cells)) for time, cells in zip(times, rows, strict=True))
    )


def header_html(cal: Calendar) -> SafeString:
    """The columns' headings: the day (a link to its day view, in a week) or the practitioner or room,
    and why nobody works there that day."""
    week = cal.view == WEEK_VIEW
    headings = []
    for column in cal.columns:
        title = escape(column.title)
        if column.link:
            link = escape(column.link)
            label = (
                f'<a href="{link}" hx-get="{link}" hx-target="#calendar" hx-swap="outerHTML" '
                f'hx-push-url="true">{title} {escape(column.subtitle)}</a>'
            )
        else:
            label = title
        headings.append(
            HEADING.format(
                today=' class="table-info" aria-current="date"' if column.is_today and week else "",
                label=label,
                note=f'<div class="small fw-normal text-danger-emphasis">{escape(column.note)}</div>'
                if column.note
                else "",
            )
        )
    return mark_safe("".join(headings))  # noqa: S308 - every value escaped above


def choice_options(cal: Calendar) -> SafeString:
    """The week's <option> per practitioner or room, the one shown selected."""
    by_room = cal.by == BY_ROOM
    return mark_safe(  # noqa: S308 - the names escaped here, the ids integers
        "".join(
            f'<option value="{item.pk}"{" selected" if item == cal.who else ""}>'
            f"{escape(str(item) if by_room else item.name)}</option>"
            for item in cal.choices
        )
    )
