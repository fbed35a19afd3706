"""The scheduling section of the patient page (rendered by the patients app): upcoming appointments
and series, with links to plan a series or book an appointment. No clinical content."""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.html import escape
from django.utils.safestring import mark_safe

from clinic import fragments
from clinic.access import is_allowed
from clinic.staff import person

from . import selectors
from .models import Appointment, AppointmentState, cadence_label
from .planner import cadence_for_interval


def section(request, patient) -> str:
    from treatments.selectors import series_plan_for

    if not is_allowed(request.user, "scheduling:calendar"):
        return ""
    # The practitioner's plan, count and cadence only (what front desk books from: docs/design.md, roles).
    plan = series_plan_for(patient)
    upcoming = list(selectors.upcoming_for_patient(patient))
    if upcoming:  # the first to end leaves the list then: a cached page must not outlive it
        fragments.expires_at(min(a.ends_at for a in upcoming))
    return render_to_string(
        "scheduling/_patient_section.html",
        {
            "patient": patient,
            "plan": plan,
            "plan_cadence": cadence_label(*cadence_for_interval(plan.interval_days)) if plan else "",
            "upcoming": _upcoming_rows(upcoming),
            "series_list": list(selectors.series_for_patient(patient)),
        },
        request=request,
    )


def _upcoming_rows(appointments) -> str:
    """The upcoming appointments as list items, built in Python: the same markup the template gave
    (link, date, kind, series number, practitioner, room, state unless booked) at a fraction of the
    cost of twenty rows through the template engine (figure 2)."""
    url = reverse("scheduling:appointment_detail", args=[0]).removesuffix("0/")
    kinds = dict(Appointment._meta.get_field("kind").flatchoices)
    states = dict(Appointment._meta.get_field("state").flatchoices)
    rows = []
    for a in appointments:
        local = timezone.localtime(a.starts_at)
        sequence = f" {a.sequence}" if a.series_id else ""
        state = "" if a.state == AppointmentState.BOOKED else f" · {states[a.state]}"
        rows.append(
            # dateformat's "D j M Y, H:i" (translated day and month names) without its parser.
            f'<li><a href="{url}{a.pk}/">{WEEKDAYS_ABBR[local.weekday()]} {local.day} '
            f"{MONTHS_3[local.month].title()} {local:%Y, %H:%M}</a> · "
            f"{escape(kinds.get(a.kind, a.kind))}{escape(sequence)} · "
            f"{escape(person(a.practitioner))} · "
            f"{escape(a.room)}{escape(state)}</li>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value escaped above
