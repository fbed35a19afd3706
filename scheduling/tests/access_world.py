"""Example URL arguments for the access-table walk (clinic/tests/test_access.py)."""

import datetime

from django.utils import timezone

from scheduling import email_links
from scheduling.planner import plan_for
from scheduling.services import book_series
from scheduling.tests.factories import at, open_clinic, patient_aged, practitioner_user


def url_kwargs(world):
    practitioner = practitioner_user(username="access_practitioner")
    rooms = open_clinic(practitioner, saturday=True)
    # A Monday at least a week ahead, so the series is in the future whenever the suite runs.
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=7 - today.weekday() + 7)
    patient = patient_aged(33, monday)
    series = book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=[(at(monday + datetime.timedelta(days=14 * i), 10), practitioner, rooms[0]) for i in range(4)],
        by=world["users"]["front_desk"],
    )
    appointment = series.appointments.get(sequence=1)
    world["scheduling"] = {"series": series, "appointment": appointment, "patient": patient}
    pk = {"pk": appointment.pk}
    return {
        "scheduling:series_detail": {"pk": series.pk},
        "scheduling:appointment_detail": pk,
        "scheduling:appointment_state": pk,
        "scheduling:appointment_reschedule": pk,
        "scheduling:appointment_cancel": pk,
        "scheduling:email_confirm": {
            "token": email_links.appointment_token(appointment, email_links.CONFIRM)
        },
        "scheduling:email_cancel": {"token": email_links.appointment_token(appointment, email_links.CANCEL)},
        "scheduling:email_unsubscribe": {"token": email_links.unsubscribe_token(patient)},
    }
