"""A course is one course (issue 15, the defects): the scheduling rules live in the services, so no page,
admin action or future caller can bypass them. Rules cited by name are in docs/clinical-rules.md:
`one-course-at-a-time`, `age-on-first-session`, `twice-weekly-spacing`, `cadence-in-every-booking`,
`band-change-needs-a-reason`, `one-practitioner-per-course`, `treatment-rooms-only`,
`stranded-appointments`, `shift-rest-of-series`, `confirmation-inside-the-lead-time`,
`moved-needs-confirming-again`."""

import datetime

import icalendar
import pytest
from django.utils import timezone

from clinic.errors import Refusal
from outbox import services as outbox
from outbox.models import OutboxMessage
from scheduling import selectors
from scheduling.errors import BookingClash
from scheduling.models import Appointment, AppointmentState, Leave, OpeningHours, Room
from scheduling.planner import check_series, check_slots, plan_and_propose, plan_for
from scheduling.services import (
    book_appointment,
    book_series,
    cancel_appointment,
    cancel_rest_of_series,
    confirm_appointment,
    reschedule_appointment,
    shift_rest_of_series,
)
from scheduling.tests.factories import at, open_clinic, patient_aged, practitioner_user

MONDAY = datetime.date(2027, 1, 11)
DAY = datetime.timedelta(days=1)


def fortnightly(day, hour, practitioner, room, count=4):
    return [(at(day + datetime.timedelta(days=14 * i), hour), practitioner, room) for i in range(count)]


@pytest.fixture
def patient(db):
    return patient_aged(33, MONDAY, given_name="Ana", family_name="Silva", email_consent=True)


@pytest.fixture
def series(patient, rooms, practitioner, front_desk):
    return book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=fortnightly(MONDAY, 10, practitioner, rooms[0]),
        by=front_desk,
    )


# --- one-course-at-a-time --------------------------------------------------------------------------


def test_a_second_course_overlapping_the_active_one_is_refused_naming_it(
    series, patient, rooms, practitioner, front_desk
):
    with pytest.raises(Refusal) as exc:
        book_series(
            patient=patient,
            plan=plan_for(age=33),
            slots=fortnightly(MONDAY + DAY, 15, practitioner, rooms[1]),
            by=front_desk,
        )
    assert exc.value.message.startswith(
        "Ana Silva already has an active course: 4 sessions, one session every two weeks, "
        "Mon 11 Jan 2027 to Mon 22 Feb 2027."
    )
    assert Appointment.objects.filter(patient=patient).count() == 4


def test_the_planner_says_so_before_anything_is_booked(series, patient, rooms, practitioner):
    checked = check_series(
        patient=patient, slots=fortnightly(MONDAY + DAY, 15, practitioner, rooms[1]), minutes=60
    )
    assert checked.problems[0].startswith("Ana Silva already has an active course")


def test_a_new_course_after_the_active_one_ends_is_booked(series, patient, rooms, practitioner, front_desk):
    later = book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=fortnightly(datetime.date(2027, 3, 8), 10, practitioner, rooms[0]),
        by=front_desk,
    )
    assert later.appointments.count() == 4


def test_a_signed_plan_with_a_reason_allows_a_second_course(series, patient, rooms, practitioner, front_desk):
    from treatments.tests.factories import signed_consultation

    signed_consultation(
        practitioner,
        patient,
        date=timezone.localdate(),
        plan_areas=["hands"],
        plan_concurrent_reason="Hands: a separate area from the face course.",
    )
    second = book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=fortnightly(MONDAY + DAY, 15, practitioner, rooms[1]),
        by=front_desk,
    )
    assert second.concurrent_reason == "Hands: a separate area from the face course."


# --- age-on-first-session with "earliest available" ----------------------------------------------


def test_earliest_available_for_a_patient_45_tomorrow_plans_the_45_to_65_band(rooms, planning_now):
    tomorrow = planning_now.date() + DAY
    patient = patient_aged(45, tomorrow)  # 44 today
    proposal = plan_and_propose(patient=patient, first_date=None, now=planning_now)
    assert proposal.plan.age == 45 and proposal.plan.count == 6 and proposal.ok


def test_earliest_available_for_a_patient_18_tomorrow_is_planned_at_18(rooms, planning_now):
    tomorrow = planning_now.date() + DAY
    patient = patient_aged(18, tomorrow)  # 17 today: the under-18 refusal is about the first session date
    with pytest.raises(Refusal) as exc:
        plan_and_propose(patient=patient, first_date=None, now=planning_now)
    assert "17" not in exc.value.message
    assert "No protocol for this age (18)" in exc.value.message


# --- cadence-in-every-booking (twice-weekly-spacing, move-within-tolerance) ------------------------


def test_three_twice_weekly_sessions_in_one_calendar_week_are_refused(rooms, practitioner, front_desk):
    patient = patient_aged(50, MONDAY)
    plan = plan_for(age=50)
    days = [MONDAY, MONDAY + 2 * DAY, MONDAY + 4 * DAY]  # Mon, Wed, Fri: each 2 days apart
    days += [MONDAY + 7 * DAY, MONDAY + 10 * DAY, MONDAY + 14 * DAY]
    slots = [(at(d, 10), practitioner, rooms[0]) for d in days]
    problems = check_slots(patient=patient, plan=plan, slots=slots, minutes=60)
    assert problems[2] == "a third session in the week of Mon 11 Jan: two sessions per week at most"
    with pytest.raises(Refusal) as exc:
        book_series(patient=patient, plan=plan, slots=slots, by=front_desk)
    assert exc.value.message.startswith(
        "Session 3 (Fri 15 Jan 2027 at 10:00) cannot be booked: a third session"
    )
    assert not Appointment.objects.exists()


def test_a_fortnightly_session_outside_the_tolerance_is_refused_by_booking(
    patient, rooms, practitioner, front_desk
):
    slots = fortnightly(MONDAY, 10, practitioner, rooms[0])
    slots[2] = (at(MONDAY + 31 * DAY, 10), practitioner, rooms[0])  # 3 days after its date, ±2 allowed
    with pytest.raises(Refusal) as exc:
        book_series(patient=patient, plan=plan_for(age=33), slots=slots, by=front_desk)
    assert "cannot be booked: 3 days from its date in the cadence (Mon 8 Feb)" in exc.value.message


def test_rescheduling_a_session_outside_the_tolerance_is_refused(series, front_desk):
    second = series.appointments.get(sequence=2)
    with pytest.raises(Refusal) as exc:
        reschedule_appointment(appointment=second, starts_at=at(MONDAY + 17 * DAY, 10), by=front_desk)
    assert "3 days from its date in the cadence (Mon 25 Jan)" in exc.value.message


# --- band-change-needs-a-reason --------------------------------------------------------------------


def test_moving_session_1_onto_the_birthday_in_the_planner_shows_the_band_change(rooms, practitioner):
    patient = patient_aged(30, MONDAY + 2 * DAY)  # 29 on Monday (every three weeks), 30 on Wednesday
    slots = [(at(MONDAY + 2 * DAY + 21 * i * DAY, 10), practitioner, rooms[0]) for i in range(4)]
    checked = check_series(patient=patient, slots=slots, minutes=60, proposed_age=29)
    assert checked.problems[0].startswith(
        "the patient is 30 on this date, not 29 as proposed: the band is Ages 30–35"
    )
    with_reason = check_series(
        patient=patient,
        slots=slots,
        minutes=60,
        proposed_age=29,
        cadence=(1, 21),
        override_reason="Kept as planned.",
    )
    assert not with_reason.problems[0]


def test_moving_booked_session_1_onto_the_birthday_needs_a_reason(rooms, practitioner, front_desk):
    patient = patient_aged(30, MONDAY + DAY)  # 29 on Monday, 30 on Tuesday
    series = book_series(
        patient=patient,
        plan=plan_for(age=29),
        slots=[(at(MONDAY + 21 * i * DAY, 10), practitioner, rooms[0]) for i in range(4)],
        by=front_desk,
    )
    first = series.appointments.get(sequence=1)
    with pytest.raises(Refusal) as exc:
        reschedule_appointment(appointment=first, starts_at=at(MONDAY + DAY, 10), by=front_desk)
    assert "the patient is 30 on the new first session date" in exc.value.message
    reschedule_appointment(
        appointment=first,
        starts_at=at(MONDAY + DAY, 10),
        band_reason="Course already under way.",
        by=front_desk,
    )
    series.refresh_from_db()
    assert series.age_at_start == 30 and "Course already under way." in series.override_reason


# --- one-practitioner-per-course -----------------------------------------------------------------


def test_any_practitioner_keeps_one_practitioner_for_the_whole_course(patient, rooms, practitioner):
    colleague = practitioner_user(first_name="Zé", last_name="Costa")
    open_clinic(colleague)
    Leave.objects.create(practitioner=practitioner, first_day=MONDAY + 13 * DAY, last_day=MONDAY + 16 * DAY)
    proposal = plan_and_propose(patient=patient, first_date=MONDAY, now=at(MONDAY - 7 * DAY, 8))
    assert proposal.ok
    assert {s.practitioner for s in proposal.sessions} == {colleague}
    assert {s.room for s in proposal.sessions} == {rooms[0]}
    assert "Inês Moura cannot take every session" in proposal.note


# --- treatment-rooms-only --------------------------------------------------------------------------


def test_a_treatment_session_in_a_room_that_is_not_a_treatment_room_is_refused(
    patient, rooms, practitioner, front_desk
):
    office = Room.objects.create(name="Office", for_treatments=False)
    with pytest.raises(BookingClash) as exc:
        book_appointment(
            patient=patient, practitioner=practitioner, room=office, starts_at=at(MONDAY, 10), by=front_desk
        )
    assert exc.value.message.endswith("cannot be booked: Office is not a treatment room.")
    consultation = book_appointment(
        patient=patient,
        practitioner=practitioner,
        room=office,
        starts_at=at(MONDAY, 10),
        kind="consultation",
        by=front_desk,
    )
    assert consultation.room == office


# --- stranded-appointments -----------------------------------------------------------------------


def test_appointments_outside_new_opening_hours_are_stranded(patient, rooms, practitioner, front_desk):
    early = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(MONDAY, 11), by=front_desk
    )
    late = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(MONDAY, 16), by=front_desk
    )
    assert selectors.stranded_appointment_ids([early, late]) == set()
    OpeningHours.objects.filter(weekday=0).update(closes=datetime.time(13))
    assert selectors.stranded_appointment_ids([early, late]) == {late.pk}
    Leave.objects.create(practitioner=practitioner, first_day=MONDAY, last_day=MONDAY)
    assert selectors.stranded_appointment_ids(Appointment.objects.all()) == {early.pk, late.pk}


def test_shortening_opening_hours_lists_what_it_strands_and_asks_to_confirm(
    patient, rooms, practitioner, front_desk, client_as, clinic_admin
):
    late = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(MONDAY, 16), by=front_desk
    )
    row = OpeningHours.objects.get(weekday=0)
    url = f"/admin/scheduling/openinghours/{row.pk}/change/"
    data = {"weekday": 0, "opens": "09:00", "closes": "13:00"}
    response = client_as(clinic_admin).post(url, data)
    assert response.status_code == 200
    assert "This change leaves 1 booked appointment outside the hours" in response.content.decode()
    assert "Ana Silva" in response.content.decode()
    row.refresh_from_db()
    assert row.closes == datetime.time(19)
    response = client_as(clinic_admin).post(url, {**data, "confirm_stranding": "on"})
    assert response.status_code == 302
    assert selectors.stranded_appointment_ids([late]) == {late.pk}


def test_stranded_appointments_are_flagged_on_the_dashboard_and_the_calendar(
    patient, rooms, practitioner, front_desk, client_as
):
    late = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(MONDAY, 16), by=front_desk
    )
    OpeningHours.objects.filter(weekday=0).update(closes=datetime.time(13))
    page = client_as(front_desk).get("/").content.decode()
    assert "outside the clinic&#x27;s hours" in page or "outside the clinic's hours" in page
    assert f"/scheduling/appointments/{late.pk}/" in page
    calendar = client_as(front_desk).get(
        f"/scheduling/calendar/?view=week&date={MONDAY}&who={practitioner.pk}"
    )
    assert "Outside hours: move it" in calendar.content.decode()


# --- shift-rest-of-series ------------------------------------------------------------------------


def test_the_shift_preview_lists_every_session_and_every_clash(
    series, patient, rooms, practitioner, front_desk
):
    other = patient_aged(40, MONDAY, given_name="Rui", family_name="Sousa")
    for day in (MONDAY + 15 * DAY, MONDAY + 29 * DAY):
        book_appointment(
            patient=other, practitioner=practitioner, room=rooms[1], starts_at=at(day, 10), by=front_desk
        )
    from scheduling.services import preview_shift

    second = series.appointments.get(sequence=2)
    preview = preview_shift(appointment=second, starts_at=at(MONDAY + 15 * DAY, 10))
    assert [(r.appointment.sequence, r.new_start.strftime("%d %H:%M")) for r in preview.rows] == [
        (2, "26 10:00"),
        (3, "09 10:00"),
        (4, "23 10:00"),
    ]
    assert [bool(r.problem) for r in preview.rows] == [True, True, False]
    with pytest.raises(BookingClash) as exc:
        shift_rest_of_series(appointment=second, starts_at=at(MONDAY + 15 * DAY, 10), by=front_desk)
    assert "Session 2" in exc.value.message and "Session 3" in exc.value.message
    assert series.appointments.get(sequence=2).local_start.day == 25


def test_shifting_sends_one_notice_with_one_ics_of_every_moved_session(series, front_desk, smtp_server):
    OutboxMessage.objects.all().delete()
    second = series.appointments.get(sequence=2)
    shift_rest_of_series(appointment=second, starts_at=at(MONDAY + 15 * DAY, 11), by=front_desk)
    assert OutboxMessage.objects.filter(kind__in=["appointment_moved", "series_moved"]).count() == 1
    outbox.dispatch_due()
    [received] = [m for m in smtp_server.messages if "moved" in m["Subject"]]
    body = received.get_body(("plain",)).get_content()
    assert "Session 2" in body and "Session 3" in body and "Session 4" in body
    [attachment] = list(received.iter_attachments())
    events = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert sorted(e.decoded("DTSTART") for e in events) == [
        at(MONDAY + 15 * DAY, 11),
        at(MONDAY + 29 * DAY, 11),
        at(MONDAY + 43 * DAY, 11),
    ]


def test_every_move_is_in_each_appointments_history(series, front_desk):
    second = series.appointments.get(sequence=2)
    shift_rest_of_series(appointment=second, starts_at=at(MONDAY + 15 * DAY, 11), by=front_desk)
    third = series.appointments.get(sequence=3)
    [move] = selectors.moves_of(third)
    assert move.by == front_desk
    assert (move.from_start, move.to_start) == (at(MONDAY + 28 * DAY, 10), at(MONDAY + 29 * DAY, 11))


def test_cancelling_the_rest_of_a_series_sends_one_notice(series, front_desk, smtp_server):
    cancel_rest_of_series(
        appointment=series.appointments.get(sequence=2), reason="Moving abroad", by=front_desk
    )
    assert OutboxMessage.objects.filter(kind__in=["appointment_cancelled", "series_cancelled"]).count() == 1
    outbox.dispatch_due()
    [received] = [m for m in smtp_server.messages if m["Subject"].startswith("Cancelled")]
    assert "Session 4" in received.get_body(("plain",)).get_content()


# --- confirmation-inside-the-lead-time -----------------------------------------------------------


def test_a_booking_inside_a_lead_time_gets_a_confirmation_at_once(patient, rooms, practitioner, front_desk):
    from django.utils import timezone

    starts = (timezone.localtime() + datetime.timedelta(hours=30)).replace(minute=0, second=0, microsecond=0)
    if starts.hour >= 22:
        starts -= datetime.timedelta(hours=3)  # still more than 24 h ahead, and the day's hours hold it
    for weekday in range(7):
        OpeningHours.objects.update_or_create(
            weekday=weekday, defaults={"opens": datetime.time(0), "closes": datetime.time(23, 59)}
        )
        practitioner.working_hours.create(
            weekday=weekday, starts=datetime.time(0), ends=datetime.time(23, 59)
        )
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=starts, by=front_desk
    )
    kinds = dict(OutboxMessage.objects.values_list("idempotency_key", "kind"))
    assert kinds == {
        f"booked:{appointment.pk}": "appointment_booked",
        f"reminder:{appointment.pk}:24h": "reminder",
    }


# --- moved-needs-confirming-again ------------------------------------------------------------------


def test_a_confirmed_appointment_moved_by_the_clinic_needs_confirming_again(series, front_desk):
    second = series.appointments.get(sequence=2)
    confirm_appointment(appointment=second, by=front_desk)
    moved = reschedule_appointment(appointment=second, starts_at=at(MONDAY + 14 * DAY, 15), by=front_desk)
    assert moved.state == AppointmentState.BOOKED
    assert moved.state_changes.last().reason == "Moved by the clinic: the patient confirms the new time."
    room_only = series.appointments.get(sequence=3)
    confirm_appointment(appointment=room_only, by=front_desk)
    kept = reschedule_appointment(
        appointment=room_only,
        starts_at=room_only.starts_at,
        room=Room.objects.get(name="Room 2"),
        by=front_desk,
    )
    assert kept.state == AppointmentState.CONFIRMED


def test_cancel_appointment_still_notifies_one_by_one(series, front_desk):
    cancel_appointment(appointment=series.appointments.get(sequence=4), reason="Ill", by=front_desk)
    assert OutboxMessage.objects.filter(kind="appointment_cancelled").count() == 1


def test_deleting_working_hours_in_the_admin_lists_what_it_strands(
    patient, rooms, practitioner, front_desk, client_as, clinic_admin
):
    book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(MONDAY, 16), by=front_desk
    )
    block = practitioner.working_hours.get(weekday=0)
    page = client_as(clinic_admin).get(f"/admin/scheduling/workinghours/{block.pk}/delete/")
    assert "Deleting this leaves 1 booked appointment outside the hours: Ana Silva" in page.content.decode()
    assert practitioner.working_hours.filter(pk=block.pk).exists()
