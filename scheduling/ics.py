"""iCalendar (.ics) files for the e-mails patients receive (RFC 5545 / 5546, the `icalendar` library).

One stable UID per appointment, so a calendar program updates the event it imported instead of
adding a second one; SEQUENCE grows with each change of the appointment (its history rows), so a
newer file wins over an older one. Times are written in UTC (always unambiguous; calendar programs
show them in the reader's zone). A cancellation notice carries METHOD:CANCEL and STATUS:CANCELLED.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from clinic.emails import sender_domain
from clinic.models import ClinicSettings
from clinic.staff import person

from .models import Appointment

REQUEST = "REQUEST"
CANCEL = "CANCEL"


def uid_for(appointment: Appointment) -> str:
    """The appointment's calendar UID: the same in every e-mail about it (domain: the sender's)."""
    return f"appointment-{appointment.pk}@{sender_domain()}"


def sequence_for(appointment: Appointment) -> int:
    """How many times the appointment changed since it was booked (0 when never changed).

    Every save writes one history row (django-simple-history), so the count only grows."""
    return max(appointment.history.count() - 1, 0)


def length_in_words(minutes: int) -> str:
    """How long an appointment takes, as a patient reads it: "30 minutes", "1 hour", "1 hour 30 minutes"."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


def _event(appointment: Appointment, clinic: ClinicSettings, *, method: str) -> Event:
    event = Event()
    event.add("uid", uid_for(appointment))
    event.add("sequence", sequence_for(appointment))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.starts_at.astimezone(datetime.UTC))
    event.add("dtend", appointment.ends_at.astimezone(datetime.UTC))
    label = appointment.get_kind_display()
    if appointment.series_id and appointment.sequence:
        label = f"{label} {appointment.sequence}"
    event.add("summary", f"{label} at {clinic.name}")
    event.add(
        "location", vText(", ".join(line.strip() for line in clinic.address.splitlines() if line.strip()))
    )
    event.add(
        "description",
        f"With {person(appointment.practitioner)}. "
        f"It takes {length_in_words(appointment.duration_minutes)}. "
        f"To change it, call {clinic.phone} or write to {clinic.email}.",
    )
    organizer = vCalAddress(f"mailto:{clinic.email}")
    organizer.params["cn"] = vText(clinic.name)
    event.add("organizer", organizer)
    if appointment.patient.email:
        attendee = vCalAddress(f"mailto:{appointment.patient.email}")
        attendee.params["cn"] = vText(appointment.patient.full_name)
        attendee.params["rsvp"] = "FALSE"
        event.add("attendee", attendee)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def calendar_for(appointments: Iterable[Appointment], *, method: str = REQUEST) -> bytes:
    """One .ics holding an event per appointment (a series confirmation holds every session)."""
    clinic = ClinicSettings.load()
    calendar = Calendar()
    calendar.add("prodid", f"-//{clinic.name}//Mesoclinic//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    for appointment in appointments:
        calendar.add_component(_event(appointment, clinic, method=method))
    return calendar.to_ical()


def attachment(appointments: Iterable[Appointment], *, method: str = REQUEST, name: str = "appointment"):
    """(filename, content, mimetype) for clinic.emails.render_email."""
    return (f"{name}.ics", calendar_for(appointments, method=method), "text/calendar")
