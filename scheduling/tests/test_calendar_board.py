"""The interactive calendar: its page, the JSON feed (bounded queries, only what front desk sees,
hostile names inert), drag to move and stretch to change the length through the services, and the
stranded flag."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.errors import Refusal
from scheduling.models import Appointment, AppointmentState, Leave, Room, WorkingHours
from scheduling.selectors import stranded_appointment_ids
from scheduling.services import book_appointment, cancel_appointment, change_appointment_length
from scheduling.tests.factories import at, patient_aged, practitioner_user

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


@pytest.fixture
def monday():
    today = timezone.localdate()
    return today + datetime.timedelta(days=14 - today.weekday())


def feed(client, monday, **params):
    start = monday.isoformat() + "T00:00:00"
    end = (monday + datetime.timedelta(days=7)).isoformat() + "T00:00:00"
    return client.get(reverse("scheduling:calendar_feed"), {"start": start, "end": end, **params})


def booked(patient, practitioner, room, starts_at, front_desk, **kwargs):
    return book_appointment(
        patient=patient, practitioner=practitioner, room=room, starts_at=starts_at, by=front_desk, **kwargs
    )


def move(client, appointment, start, end, **extra):
    return client.post(
        reverse("scheduling:calendar_move"),
        {"appointment": appointment.pk, "start": start, "end": end, **extra},
    )


# --- the page ----------------------------------------------------------------------------------


def test_board_page_loads_the_calendar_from_static_files_only(client_as, front_desk, rooms):
    response = client_as(front_desk).get(reverse("scheduling:calendar_board"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "vendor/event-calendar/event-calendar.min.js" in page and "js/calendar-board.js" in page
    assert 'id="board-config" type="application/json"' in page  # data, not a script (CSP)
    assert "<script>" not in page.replace('<script src="', "")
    assert "Outside hours" in page and "Closed, not working or on leave" in page  # the legend


def test_board_page_without_opening_hours_says_so(client_as, front_desk, practitioner):
    page = client_as(front_desk).get(reverse("scheduling:calendar_board")).content.decode()
    assert "the clinic has no opening hours yet" in page
    assert "calendar-board.js" not in page


# --- the feed ----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 50])
def test_feed_reads_a_fixed_number_of_queries(
    client_as, front_desk, practitioner, rooms, monday, count, django_assert_max_num_queries
):
    others = [practitioner_user(f"prac{i}", first_name=f"P{i}") for i in range(4)]
    for other in others:
        for weekday in range(5):
            WorkingHours.objects.create(
                practitioner=other, weekday=weekday, starts=datetime.time(9), ends=datetime.time(19)
            )
    staff = [practitioner, *others]
    # One room each: the database refuses two bookings of a room at once (PostgreSQL).
    own_room = dict(
        zip(staff, [*rooms, *(Room.objects.create(name=f"Room {n}") for n in range(3, 6))], strict=True)
    )
    made = 0
    for day in range(5):
        for hour in range(9, 19):
            for who in staff:
                if made == count:
                    break
                patient = patient_aged(40, monday)
                room = own_room[who]
                Appointment.objects.create(
                    patient=patient,
                    practitioner=who,
                    room=room,
                    starts_at=at(monday + datetime.timedelta(days=day), hour),
                    ends_at=at(monday + datetime.timedelta(days=day), hour) + datetime.timedelta(minutes=30),
                )
                made += 1
    client = client_as(front_desk)
    feed(client, monday)  # warm the session
    # Session, user and roles; then the columns and the five of Availability.load.
    with django_assert_max_num_queries(10):
        response = feed(client, monday)
    events = [e for e in response.json() if e.get("display") != "background"]
    assert len(events) == count


def test_feed_shows_what_the_desk_sees_and_nothing_clinical(
    client_as, front_desk, practitioner, rooms, monday
):
    patient = patient_aged(40, monday, given_name="Ana", family_name="Lopes")
    appointment = booked(patient, practitioner, rooms[0], at(monday, 10), front_desk, notes="Parking voucher")
    event = next(e for e in feed(client_as(front_desk), monday).json() if e.get("id") == appointment.pk)
    assert event["title"] == "Ana Lopes"
    assert event["start"] == f"{monday.isoformat()}T10:00" and event["resourceId"] == practitioner.pk
    assert event["editable"] is True
    assert event["extendedProps"]["kind"] == "treatment"  # the board's config has the labels
    assert event["extendedProps"]["state"] == "booked"
    assert event["extendedProps"]["room"] == rooms[0].name
    assert "Parking voucher" not in json.dumps(event)  # booking notes stay on the appointment page
    assert set(event["extendedProps"]) == {"kind", "sequence", "state", "practitioner", "room", "stranded"}


def test_feed_escapes_hostile_names(client_as, front_desk, practitioner, rooms, monday):
    patient = patient_aged(40, monday, given_name=HOSTILE, family_name="凪沙" * 40)
    booked(patient, practitioner, rooms[0], at(monday, 10), front_desk)
    response = feed(client_as(front_desk), monday)
    body = response.content.decode()
    assert response["Content-Type"] == "application/json"
    assert "<" not in body and ">" not in body
    assert "\\u003Cscript\\u003E" in body
    titles = [e["title"] for e in response.json() if "id" in e]
    assert titles == [f"{HOSTILE} {'凪沙' * 40}"]  # the same text once parsed


def test_feed_filters_by_kind_room_and_practitioner(client_as, front_desk, practitioner, rooms, monday):
    other = practitioner_user("other", first_name="Rui")
    for weekday in range(5):
        WorkingHours.objects.create(
            practitioner=other, weekday=weekday, starts=datetime.time(9), ends=datetime.time(19)
        )
    a = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    b = booked(patient_aged(41, monday), other, rooms[1], at(monday, 10), front_desk, kind="consultation")
    client = client_as(front_desk)

    def ids(**params):
        return {e["id"] for e in feed(client, monday, **params).json() if "id" in e}

    assert ids() == {a.pk, b.pk}
    assert ids(kind="consultation") == {b.pk}
    assert ids(room=rooms[0].pk) == {a.pk}
    assert ids(practitioner=other.pk) == {b.pk}
    by_room = [e for e in feed(client, monday, by="room").json() if "id" in e]
    assert {e["resourceId"] for e in by_room} == {rooms[0].pk, rooms[1].pk}
    assert ids(by="room", practitioner=practitioner.pk) == {a.pk}


def test_feed_shows_closed_hours_as_background(client_as, front_desk, practitioner, rooms, monday):
    Leave.objects.create(practitioner=practitioner, first_day=monday, last_day=monday, reason="Course")
    background = [e for e in feed(client_as(front_desk), monday).json() if e.get("display") == "background"]
    titles = {(e["start"][:10], e["title"]) for e in background}
    assert (monday.isoformat(), "On leave") in titles
    saturday = (monday + datetime.timedelta(days=5)).isoformat()
    assert any(day == saturday and title.startswith("Clinic closed") for day, title in titles)


def test_feed_refuses_a_missing_or_too_long_window(client_as, front_desk, rooms, monday):
    client = client_as(front_desk)
    url = reverse("scheduling:calendar_feed")
    assert client.get(url).status_code == 200  # no window: this week
    assert client.get(url, {"start": "2026-01-01"}).status_code == 400
    assert client.get(url, {"start": "junk", "end": "junk"}).status_code == 400
    response = client.get(url, {"start": "2026-01-01", "end": "2026-06-01"})
    assert response.status_code == 400 and "at most 31 days" in response.json()["message"]


@pytest.mark.parametrize(
    "name", ["scheduling:calendar_feed", "scheduling:calendar_move", "scheduling:calendar_board"]
)
def test_anonymous_visitors_are_sent_to_log_in(client, name):
    response = client.get(reverse(name)) if name != "scheduling:calendar_move" else client.post(reverse(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("role", ["front_desk", "practitioner", "clinic_admin"])
def test_every_staff_role_reads_the_feed(client_as, role, rooms, monday, request):
    user = request.getfixturevalue(role)
    assert feed(client_as(user), monday).status_code == 200


def test_a_user_without_a_role_is_refused(client_as, rooms, monday):
    from clinic.tests.factories import UserFactory

    nobody = UserFactory(username="nobody")
    assert feed(client_as(nobody), monday).status_code == 403


# --- drag to move, stretch to change the length ---------------------------------------------------


def test_drag_moves_the_appointment_through_the_service(client_as, front_desk, practitioner, rooms, monday):
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    tuesday = (monday + datetime.timedelta(days=1)).isoformat()
    response = move(client_as(front_desk), appointment, f"{tuesday}T14:00", f"{tuesday}T15:00")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert "Moved" in response.json()["message"]
    appointment.refresh_from_db()
    assert appointment.starts_at == at(monday + datetime.timedelta(days=1), 14)
    assert appointment.duration_minutes == 60
    assert appointment.history.first().history_user == front_desk


def test_drag_onto_a_clash_is_refused_in_plain_words(client_as, front_desk, practitioner, rooms, monday):
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    booked(
        patient_aged(41, monday, given_name="Rita", family_name="Sá"),
        practitioner,
        rooms[1],
        at(monday, 12),
        front_desk,
    )
    response = move(
        client_as(front_desk), appointment, f"{monday.isoformat()}T12:00", f"{monday.isoformat()}T13:00"
    )
    assert response.status_code == 200
    message = response.json()["message"]
    assert response.json()["ok"] is False
    assert "cannot be moved" in message and "Inês Moura already has Rita Sá 12:00–13:00" in message
    appointment.refresh_from_db()
    assert appointment.starts_at == at(monday, 10)


def test_drag_to_another_column_changes_the_practitioner(client_as, front_desk, practitioner, rooms, monday):
    other = practitioner_user("other", first_name="Rui", last_name="Paz")
    WorkingHours.objects.create(
        practitioner=other, weekday=0, starts=datetime.time(9), ends=datetime.time(13)
    )
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    day = monday.isoformat()
    response = move(client_as(front_desk), appointment, f"{day}T10:00", f"{day}T11:00", resource=other.pk)
    assert response.json()["ok"] is True
    appointment.refresh_from_db()
    assert appointment.practitioner == other
    # Outside the other practitioner's hours: refused, nothing changed.
    response = move(
        client_as(front_desk), appointment, f"{day}T15:00", f"{day}T16:00", resource=practitioner.pk
    )
    assert response.json()["ok"] is True
    response = move(client_as(front_desk), appointment, f"{day}T15:00", f"{day}T16:00", resource=other.pk)
    assert response.status_code == 200 and "Rui Paz does not work then" in response.json()["message"]


def test_drag_to_another_room_column(client_as, front_desk, practitioner, rooms, monday):
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    day = monday.isoformat()
    response = move(
        client_as(front_desk), appointment, f"{day}T10:00", f"{day}T11:00", resource=rooms[1].pk, by="room"
    )
    assert response.json()["ok"] is True
    appointment.refresh_from_db()
    assert appointment.room == rooms[1]


def test_stretch_changes_the_length(client_as, front_desk, practitioner, rooms, monday):
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    day = monday.isoformat()
    response = move(client_as(front_desk), appointment, f"{day}T10:00", f"{day}T11:30")
    assert response.json()["ok"] is True and response.json()["message"].startswith("Changed")
    appointment.refresh_from_db()
    assert appointment.starts_at == at(monday, 10) and appointment.duration_minutes == 90


def test_stretch_onto_the_next_booking_is_refused(client_as, front_desk, practitioner, rooms, monday):
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    booked(patient_aged(41, monday), practitioner, rooms[1], at(monday, 11), front_desk)
    day = monday.isoformat()
    response = move(client_as(front_desk), appointment, f"{day}T10:00", f"{day}T11:30")
    assert response.status_code == 200 and "already has" in response.json()["message"]
    appointment.refresh_from_db()
    assert appointment.duration_minutes == 60


def test_move_refuses_bad_input_without_an_error_page(client_as, front_desk, practitioner, rooms, monday):
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    client = client_as(front_desk)
    url = reverse("scheduling:calendar_move")
    assert client.post(url, {}).status_code == 404
    assert client.post(url, {"appointment": appointment.pk, "start": "junk", "end": "x"}).status_code == 400
    day = monday.isoformat()
    response = move(client, appointment, f"{day}T10:00", f"{day}T11:00", resource=99999)
    assert response.status_code == 400 and "no longer on the calendar" in response.json()["message"]
    assert client.get(url).status_code == 405


def test_a_cancelled_appointment_cannot_be_dragged(client_as, front_desk, practitioner, rooms, monday):
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    cancel_appointment(appointment=appointment, reason="Unwell", by=front_desk)
    day = monday.isoformat()
    response = move(client_as(front_desk), appointment, f"{day}T14:00", f"{day}T15:00")
    assert (
        response.status_code == 200 and "cancelled appointment cannot be moved" in response.json()["message"]
    )


def test_move_into_the_past_is_refused(client_as, front_desk, practitioner, rooms, monday):
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    past = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    response = move(client_as(front_desk), appointment, f"{past}T10:00", f"{past}T11:00")
    assert response.status_code == 200 and "in the past" in response.json()["message"]


# --- the length service ------------------------------------------------------------------------


def test_change_length_checks_the_bounds_and_the_state(front_desk, practitioner, rooms, monday):
    appointment = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 10), front_desk)
    with pytest.raises(Refusal, match="from 15 to 240 minutes, not 300"):
        change_appointment_length(appointment=appointment, minutes=300, by=front_desk)
    with pytest.raises(Refusal, match="outside opening hours"):
        change_appointment_length(
            appointment=booked(patient_aged(41, monday), practitioner, rooms[1], at(monday, 18), front_desk),
            minutes=120,
            by=front_desk,
        )
    assert (
        change_appointment_length(appointment=appointment, minutes=45, by=front_desk).duration_minutes == 45
    )
    Appointment.objects.filter(pk=appointment.pk).update(state=AppointmentState.ARRIVED)
    with pytest.raises(Refusal, match="arrived appointment cannot be changed"):
        change_appointment_length(appointment=appointment, minutes=30, by=front_desk)


# --- stranded ----------------------------------------------------------------------------------


def test_stranded_bookings_are_flagged_after_a_change_of_hours(
    client_as, front_desk, practitioner, rooms, monday
):
    early = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 9), front_desk)
    late = booked(patient_aged(41, monday), practitioner, rooms[0], at(monday, 17), front_desk)
    tuesday = booked(
        patient_aged(42, monday),
        practitioner,
        rooms[0],
        at(monday + datetime.timedelta(days=1), 10),
        front_desk,
    )
    assert stranded_appointment_ids([early, late, tuesday]) == set()
    # Monday's hours shortened to 10:00–16:00 and leave on Tuesday, after the bookings.
    WorkingHours.objects.filter(practitioner=practitioner, weekday=0).update(
        starts=datetime.time(10), ends=datetime.time(16)
    )
    Leave.objects.create(
        practitioner=practitioner, first_day=tuesday.starts_at.date(), last_day=tuesday.starts_at.date()
    )
    assert stranded_appointment_ids([early, late, tuesday]) == {early.pk, late.pk, tuesday.pk}
    cancel_appointment(appointment=late, reason="Moved away", by=front_desk)
    late.refresh_from_db()
    assert stranded_appointment_ids([late]) == set()  # a cancelled booking holds nothing
    events = {e["id"]: e for e in feed(client_as(front_desk), monday).json() if "id" in e}
    assert events[early.pk]["extendedProps"]["stranded"] is True
    assert events[tuesday.pk]["extendedProps"]["stranded"] is True
    assert late.pk not in events  # a cancelled booking is off the board


def test_the_board_flags_what_the_dashboard_flags_and_nothing_that_has_happened(
    client_as, front_desk, practitioner, rooms, monday
):
    """One rule for the board and the dashboard (stranded_appointment_ids): only a booking still to come
    is stranded; a completed visit outside today's hours is history, not a warning."""
    kept = booked(patient_aged(40, monday), practitioner, rooms[0], at(monday, 9), front_desk)
    done = booked(patient_aged(41, monday), practitioner, rooms[0], at(monday, 11), front_desk)
    WorkingHours.objects.filter(practitioner=practitioner, weekday=0).update(
        starts=datetime.time(12), ends=datetime.time(16)
    )
    Appointment.objects.filter(pk=done.pk).update(state=AppointmentState.COMPLETED)
    done.refresh_from_db()
    assert stranded_appointment_ids([kept, done]) == {kept.pk}
    events = {e["id"]: e for e in feed(client_as(front_desk), monday).json() if "id" in e}
    assert events[kept.pk]["extendedProps"]["stranded"] is True
    assert events[done.pk]["extendedProps"]["stranded"] is False


# --- the printed day list ------------------------------------------------------------------------


def test_day_list_prints_phone_numbers_states_and_names_as_text(
    client_as, front_desk, practitioner, rooms, monday
):
    patient = patient_aged(40, monday, given_name="Rosa", family_name="Lima", phone="+351912345678")
    appointment = booked(patient, practitioner, rooms[0], at(monday, 9), front_desk)
    response = client_as(front_desk).get(reverse("scheduling:day_list"), {"date": monday.isoformat()})
    page = response.content.decode()
    assert "+351 912 345 678" in page
    assert '<th scope="col">State</th>' in page and "<td>Booked</td>" in page
    # On paper the name is text: the link is screen-only, a plain copy print-only.
    assert f'<a class="d-print-none" href="/scheduling/appointments/{appointment.pk}/">Rosa Lima</a>' in page
    assert '<span class="d-none d-print-inline">Rosa Lima</span>' in page
