"""The scheduling pages: planner, booking, calendar (fixed queries), appointment actions."""

import datetime
import re

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from consents.selectors import valid_consent
from consents.services import withdraw_consent
from consents.tests.factories import signed_consent
from scheduling.models import Appointment, Closure, SessionSeries
from scheduling.planner import plan_for
from scheduling.services import book_appointment, book_series
from scheduling.tests.factories import at, open_clinic, patient_aged, practitioner_user


def next_monday(weeks: int = 1) -> datetime.date:
    today = timezone.localdate()
    return today + datetime.timedelta(days=7 * weeks - today.weekday())


@pytest.fixture
def monday():
    return next_monday(2)


def test_planner_lists_patients_matching_the_search(client_as, front_desk, rooms, monday):
    patient = patient_aged(33, monday, given_name="Joana", family_name="Araújo")
    response = client_as(front_desk).get(reverse("scheduling:plan"), {"q": "araujo"})
    assert response.status_code == 200
    assert f"?patient={patient.pk}" in response.content.decode()


def test_planner_proposes_the_band_and_books_all_sessions(client_as, front_desk, practitioner, rooms, monday):
    patient = patient_aged(33, monday)
    client = client_as(front_desk)
    url = f"{reverse('scheduling:plan')}?patient={patient.pk}"
    form = {
        "patient": patient.pk,
        "first_date": monday.isoformat(),
        "preferred_time": "11:00",
        "action": "propose",
    }
    response = client.post(url, form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ages 30–35: one session every two weeks" in page
    assert response.context["formset"].initial[3]["date"] == monday + datetime.timedelta(days=42)

    rows = {"form-TOTAL_FORMS": "4", "form-INITIAL_FORMS": "0"}
    for i in range(4):
        rows |= {
            f"form-{i}-date": (monday + datetime.timedelta(days=14 * i)).isoformat(),
            f"form-{i}-time": "11:00",
            f"form-{i}-practitioner": practitioner.pk,
            f"form-{i}-room": rooms[0].pk,
        }
    response = client.post(url, {**form, **rows, "action": "book"})
    series = SessionSeries.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "scheduling:series_detail", args=[series.pk]
    )
    assert series.appointments.count() == 4 and series.created_by == front_desk


@pytest.mark.parametrize(
    ("age", "options", "heading"),
    [
        (33, {}, "Proposal: 4 sessions, Ages 30–35: one session every two weeks</h2>"),
        (
            33,
            {"count": "6", "cadence": "2/7", "override_reason": "Asked for a faster course."},
            "Proposal: 6 sessions, two sessions per week "
            "(the band: Ages 30–35: one session every two weeks)</h2>",
        ),
        (
            42,
            {"count": "5", "cadence": "1/7", "override_reason": "No band: weekly."},
            "Proposal: 5 sessions, one session every week, "
            "no protocol for this age — practitioner's plan</h2>",
        ),
    ],
)
def test_the_proposals_heading_says_the_cadence_it_follows(
    client_as, front_desk, practitioner, rooms, monday, age, options, heading
):
    """A cadence other than the band's is the one named first; the band's label, which carries its
    own cadence, follows in brackets (it read as if the proposal followed it)."""
    patient = patient_aged(age, monday)
    form = {"first_date": monday.isoformat(), "preferred_time": "11:00", "action": "propose", **options}
    page = (
        client_as(front_desk)
        .post(f"{reverse('scheduling:plan')}?patient={patient.pk}", form)
        .content.decode()
    )
    assert heading in page


@pytest.mark.parametrize("consent", [False, True])
@pytest.mark.parametrize("sessions", [2, 8])
def test_proposed_rows_share_the_practitioner_and_room_options(
    client_as, front_desk, practitioner, rooms, monday, django_assert_max_num_queries, sessions, consent
):
    """Each row's selects list every practitioner and room, read once for all rows (figure 4); the
    consent line costs the same with consent signed or missing."""
    patient = patient_aged(33, monday)
    if consent:
        signed_consent(patient, practitioner)
    client = client_as(front_desk)
    url = f"{reverse('scheduling:plan')}?patient={patient.pk}"
    form = {
        "first_date": monday.isoformat(),
        "preferred_time": "11:00",
        "count": str(sessions),
        "cadence": "1/7",
        "override_reason": "Test",
        "action": "propose",
    }
    client.post(url, form)  # warm the session
    with django_assert_max_num_queries(QUERIES_TO_PROPOSE):
        response = client.post(url, form)
    page = response.content.decode()
    assert len(response.context["formset"].forms) == sessions
    for i in range(sessions):
        assert f'name="form-{i}-practitioner"' in page and f'name="form-{i}-room"' in page
    assert page.count(f'<option value="{rooms[1].pk}">{rooms[1].name}</option>') >= sessions
    assert page.count(f'value="{practitioner.pk}" selected') == sessions


# The same for 2 and 8 rows (one fewer when sessions are in Redis); two of them read the consent line.
QUERIES_TO_PROPOSE = 21


ONE_DAY = datetime.timedelta(days=1)


def _signed_withdrawn(patient, practitioner):
    consent = signed_consent(patient, practitioner)
    withdraw_consent(consent=consent, by=practitioner, reason="Changed her mind.")


@pytest.mark.parametrize("role", ["front_desk", "practitioner", "clinic_admin"])
@pytest.mark.parametrize(
    ("history", "shown"),
    [
        (None, "missing"),
        (lambda patient, practitioner: signed_consent(patient, practitioner, days_ago=60), "signed"),
        (_signed_withdrawn, "missing"),
        (lambda patient, practitioner: signed_consent(patient, practitioner, days_ago=400), "missing"),
    ],
    ids=["never-signed", "signed", "withdrawn", "expired"],
)
def test_the_planner_says_whether_consent_is_signed_or_missing(
    request, client_as, practitioner, rooms, monday, role, history, shown
):
    """Issue 17: every role that plans a series sees "Consent signed" (until when) or "Consent missing",
    in the patient page's words, so that the desk has it signed on arrival; a withdrawn or expired
    consent is missing. Never the consent itself."""
    patient = patient_aged(33, monday)
    if history:
        history(patient, practitioner)
    user = request.getfixturevalue(role)
    page = client_as(user).get(reverse("scheduling:plan"), {"patient": patient.pk}).content.decode()
    line = page[page.index("data-consent-status") :].split("</p>", 1)[0]
    if shown == "signed":
        assert "Consent signed" in line and "Consent missing" not in page
        until = datetime.datetime.strptime(re.search(r"valid until (\S+)", line)[1], "%d/%m/%Y").date()
        # The last day a session may be recorded with it (rule `consent-before-session`).
        assert valid_consent(patient.pk, until) and valid_consent(patient.pk, until + ONE_DAY) is None
    else:
        assert "Consent missing" in line and "have it signed on arrival" in line
        assert "Consent signed" not in page
    assert reverse("consents:patient", args=[patient.pk]) not in page  # its content stays on its page


def test_the_planner_counts_the_sessions_after_the_consent_runs_out(
    client_as, front_desk, practitioner, rooms, monday
):
    """A consent that runs out during the course covers the first sessions only: the planner says how
    many need a new signature, before they are booked."""
    patient = patient_aged(33, monday)
    # Ages 30-35: 4 sessions two weeks apart, on days 0, 14, 28 and 42; the consent runs out in between.
    signed_consent(
        patient, practitioner, on=at(monday + datetime.timedelta(days=35) - relativedelta(months=12), 12)
    )
    url = f"{reverse('scheduling:plan')}?patient={patient.pk}"
    form = {"first_date": monday.isoformat(), "preferred_time": "11:00", "action": "propose"}
    page = client_as(front_desk).post(url, form).content.decode()
    assert "Consent signed" in page
    assert "1 of the proposed sessions falls after that day: have a new consent signed before it." in page
    rows = {"form-TOTAL_FORMS": "4", "form-INITIAL_FORMS": "0"}
    for i, days in enumerate([0, 14, 28, 33]):
        rows |= {
            f"form-{i}-date": (monday + datetime.timedelta(days=days)).isoformat(),
            f"form-{i}-time": "11:00",
            f"form-{i}-practitioner": practitioner.pk,
            f"form-{i}-room": rooms[0].pk,
        }
    rechecked = client_as(front_desk).post(url, {**form, **rows, "action": "recheck"}).content.decode()
    assert "Consent signed" in rechecked
    assert "data-sessions-after-consent" not in rechecked  # the last one moved earlier: all covered


def test_a_moved_session_that_clashes_is_shown_and_nothing_is_booked(
    client_as, front_desk, practitioner, rooms, monday
):
    patient = patient_aged(33, monday)
    book_appointment(
        patient=patient_aged(50, monday, given_name="Ana", family_name="Silva"),
        practitioner=practitioner,
        room=rooms[1],
        starts_at=at(monday + datetime.timedelta(days=28), 11),
        by=front_desk,
    )
    rows = {"form-TOTAL_FORMS": "4", "form-INITIAL_FORMS": "0"}
    for i in range(4):
        rows |= {
            f"form-{i}-date": (monday + datetime.timedelta(days=14 * i)).isoformat(),
            f"form-{i}-time": "11:00",
            f"form-{i}-practitioner": practitioner.pk,
            f"form-{i}-room": rooms[0].pk,
        }
    response = client_as(front_desk).post(
        f"{reverse('scheduling:plan')}?patient={patient.pk}",
        {"patient": patient.pk, "preferred_time": "11:00", "action": "book", **rows},
    )
    assert response.status_code == 200
    assert response.context["problems"] == ["", "", "Inês Moura already has Ana Silva 11:00–12:00", ""]
    assert (
        "Some sessions cannot be booked as they are: move them and check again." in response.content.decode()
    )
    assert SessionSeries.objects.count() == 0


def test_planner_refuses_an_under_18(client_as, front_desk, rooms, monday):
    teen = patient_aged(17, monday + datetime.timedelta(days=3))
    response = client_as(front_desk).post(
        f"{reverse('scheduling:plan')}?patient={teen.pk}",
        {
            "patient": teen.pk,
            "first_date": monday.isoformat(),
            "preferred_time": "10:00",
            "action": "propose",
        },
    )
    assert response.status_code == 200
    assert "a treatment series is not booked for under-18s" in response.content.decode()


def test_planner_says_no_protocol_for_this_age(client_as, front_desk, rooms, monday):
    patient = patient_aged(42, monday)
    response = client_as(front_desk).post(
        f"{reverse('scheduling:plan')}?patient={patient.pk}",
        {
            "patient": patient.pk,
            "first_date": monday.isoformat(),
            "preferred_time": "10:00",
            "action": "propose",
        },
    )
    assert "No protocol for this age (42)." in response.content.decode()


def test_single_booking_form_prefilled_from_a_free_slot(client_as, front_desk, practitioner, rooms, monday):
    patient = patient_aged(40, monday)
    client = client_as(front_desk)
    url = reverse("scheduling:appointment_new")
    params = f"?patient={patient.pk}&date={monday.isoformat()}&time=15:00&practitioner={practitioner.pk}"
    response = client.get(url + params)
    assert response.status_code == 200
    assert response.context["form"].initial["practitioner"] == practitioner.pk
    response = client.post(
        url + params,
        {
            "patient": patient.pk,
            "kind": "consultation",
            "date": monday.isoformat(),
            "time": "15:00",
            "minutes": 60,
            "practitioner": practitioner.pk,
            "room": rooms[0].pk,
        },
    )
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert appointment.local_start.strftime("%H:%M") == "15:00" and appointment.kind == "consultation"


def test_booking_form_shows_the_clash(client_as, front_desk, practitioner, rooms, monday):
    Closure.objects.create(date=monday, reason="Staff training")
    patient = patient_aged(40, monday)
    response = client_as(front_desk).post(
        f"{reverse('scheduling:appointment_new')}?patient={patient.pk}",
        {
            "patient": patient.pk,
            "kind": "consultation",
            "date": monday.isoformat(),
            "time": "15:00",
            "minutes": 60,
            "practitioner": practitioner.pk,
            "room": rooms[0].pk,
        },
    )
    assert response.status_code == 200
    assert "cannot be booked: clinic closed (Staff training)." in response.content.decode()
    assert Appointment.objects.count() == 0


@pytest.fixture
def busy_week(rooms, practitioner, front_desk, monday):
    """A factory filling the week of `monday` with n appointments per weekday."""

    def fill(per_day: int):
        colleague = practitioner_user(f"colleague{per_day}")
        open_clinic(colleague)
        for offset in range(5):
            for hour in range(9, 9 + per_day):
                book_appointment(
                    patient=patient_aged(40, monday),
                    practitioner=practitioner if hour % 2 else colleague,
                    room=rooms[hour % 2],
                    starts_at=at(monday + datetime.timedelta(days=offset), hour),
                    by=front_desk,
                )

    return fill


@pytest.mark.parametrize("per_day", [1, 10])
@pytest.mark.parametrize(
    ("view", "by"), [("week", "practitioner"), ("day", "practitioner"), ("week", "room"), ("day", "room")]
)
def test_calendar_runs_a_fixed_number_of_queries(
    client_as,
    front_desk,
    practitioner,
    rooms,
    busy_week,
    monday,
    per_day,
    view,
    by,
    django_assert_max_num_queries,
):
    busy_week(per_day)
    client = client_as(front_desk)
    who = practitioner.pk if by == "practitioner" else rooms[1].pk
    # 7 for the session (read and save), user, roles and clinic settings; 6 for the calendar
    # (the practitioners or the rooms, the five of Availability.load). The same bound for 5 or 50
    # appointments.
    with django_assert_max_num_queries(13):
        response = client.get(
            reverse("scheduling:calendar"), {"view": view, "by": by, "who": who, "date": monday.isoformat()}
        )
    assert response.status_code == 200
    shown = sum(len(cell.appointments) for column in response.context["cal"].columns for cell in column.cells)
    # The practitioner and Room 2 take the odd hours; a day view shows everyone's.
    odd_hours = sum(1 for hour in range(9, 9 + per_day) if hour % 2)
    assert shown == (odd_hours * 5 if view == "week" else per_day)


def test_calendar_marks_free_slots_with_a_booking_link(client_as, front_desk, practitioner, monday, rooms):
    response = client_as(front_desk).get(
        reverse("scheduling:calendar"), {"view": "day", "date": monday.isoformat()}
    )
    page = response.content.decode()
    assert f"time=09:00&amp;practitioner={practitioner.pk}" in page
    assert "+ free" in page


def test_calendar_cells_show_the_appointment_and_the_free_slot_markup(
    client_as, front_desk, practitioner, monday, rooms
):
    """The grid is built in Python (calendar_grid); the cells keep the markup the template gave."""
    patient = patient_aged(40, monday, given_name="Inês", family_name="D'Ávila")
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(monday, 9), by=front_desk
    )
    response = client_as(front_desk).get(
        reverse("scheduling:calendar"),
        {"view": "week", "by": "practitioner", "who": practitioner.pk, "date": monday.isoformat()},
    )
    page = response.content.decode()
    assert (
        f'<td class="bg-primary-subtle"><div class="small"><a class="text-decoration-none" '
        f'href="/scheduling/appointments/{appointment.pk}/"><strong>09:00</strong> Treatment session</a> '
        f'<a class="d-block" href="/patients/{patient.pk}/">Inês D&#x27;Ávila</a> '
        f'<span class="d-block text-body-secondary">{rooms[0].name}</span></div></td>'
    ) in page
    name = practitioner.get_full_name() or practitioner.get_username()
    tuesday = monday + datetime.timedelta(days=1)
    assert (
        f'<td class=""><a class="d-block small text-success-emphasis text-decoration-none slot-free" '
        f'href="/scheduling/appointments/new/?date={tuesday.isoformat()}&amp;time=09:00&amp;'
        f'practitioner={practitioner.pk}">+ free<span class="visually-hidden">: book {tuesday:%a} '
        f"{tuesday.day} {tuesday:%b} at 09:00 with {name}</span></a></td>"
    ) in page


def test_a_rooms_calendar_names_the_practitioner_or_their_username(
    client_as, front_desk, practitioner, monday, rooms
):
    """The calendar reads names as values (availability.Shown): the same names the models give."""
    nameless = practitioner_user(username="dr.nameless", first_name="", last_name="")
    open_clinic(practitioner, nameless)
    patient = patient_aged(40, monday, given_name=" Zoë", family_name="<Bell>")
    for who, hour in ((practitioner, 9), (nameless, 11)):
        book_appointment(
            patient=patient, practitioner=who, room=rooms[0], starts_at=at(monday, hour), by=front_desk
        )
    page = (
        client_as(front_desk)
        .get(
            reverse("scheduling:calendar"),
            {"view": "week", "by": "room", "who": rooms[0].pk, "date": monday.isoformat()},
        )
        .content.decode()
    )
    assert f'<span class="d-block text-body-secondary">{practitioner.get_full_name()}</span>' in page
    assert '<span class="d-block text-body-secondary">dr.nameless</span>' in page
    assert f">{patient.full_name.replace('<', '&lt;').replace('>', '&gt;')}</a>" in page


def test_a_practitioners_rooms_week_opens_on_the_first_room_not_on_themselves(
    client_as, practitioner, monday, rooms
):
    """Without a room chosen, the week by room shows the first room, whoever asks: a practitioner's
    own week is a practitioner's, not a room whose id happens to be theirs."""
    response = client_as(practitioner).get(
        reverse("scheduling:calendar"), {"view": "week", "by": "room", "date": monday.isoformat()}
    )
    first = min(rooms, key=lambda room: room.name)
    assert response.context["cal"].who == first
    page = response.content.decode()
    assert f'<option value="{first.pk}" selected>{first.name}</option>' in page
    assert f"at 09:00 in {first.name}</span>" in page
    assert f"in {practitioner.get_full_name()}<" not in page


def test_calendar_headings_and_options_escape_what_staff_typed(client_as, front_desk, monday, rooms):
    """The headings and the options are built in Python (calendar_grid), escaped as the template did."""
    Closure.objects.create(date=monday, reason="<b>Staff & training</b>")
    rooms[0].name = "Room <1> & 'A'"
    rooms[0].save()
    page = (
        client_as(front_desk)
        .get(
            reverse("scheduling:calendar"),
            {"view": "week", "by": "room", "who": rooms[0].pk, "date": monday.isoformat()},
        )
        .content.decode()
    )
    assert (
        '<div class="small fw-normal text-danger-emphasis">clinic closed '
        "(&lt;b&gt;Staff &amp; training&lt;/b&gt;)</div>"
    ) in page
    assert f'<option value="{rooms[0].pk}" selected>Room &lt;1&gt; &amp; &#x27;A&#x27;</option>' in page
    assert "<b>Staff" not in page and "Room <1>" not in page


def test_calendar_htmx_request_gets_only_the_fragment(client_as, front_desk, rooms, monday):
    response = client_as(front_desk).get(
        reverse("scheduling:calendar"), {"date": monday.isoformat()}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="calendar">') or 'id="calendar"' in page[:200]
    assert "<html" not in page


def test_day_list_prints_the_days_appointments(client_as, practitioner, front_desk, rooms, monday):
    patient = patient_aged(40, monday, given_name="Rosa", family_name="Lima")
    book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(monday, 9), by=front_desk
    )
    response = client_as(practitioner).get(reverse("scheduling:day_list"), {"date": monday.isoformat()})
    page = response.content.decode()
    assert "Rosa Lima" in page and "09:00–10:00" in page and "data-print" in page


@pytest.fixture
def series(rooms, practitioner, front_desk, monday):
    patient = patient_aged(33, monday)
    return book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=[(at(monday + datetime.timedelta(days=14 * i), 10), practitioner, rooms[0]) for i in range(4)],
        by=front_desk,
    )


def test_reschedule_with_shift_moves_the_rest(client_as, front_desk, practitioner, rooms, series, monday):
    second = series.appointments.get(sequence=2)
    new_day = monday + datetime.timedelta(days=16)
    url = reverse("scheduling:appointment_reschedule", args=[second.pk])
    data = {
        "date": new_day.isoformat(),
        "time": "10:00",
        "practitioner": practitioner.pk,
        "room": rooms[0].pk,
        "shift_rest": "on",
    }
    client = client_as(front_desk)
    # Issue 15: first a preview of every session with its new time; nothing moves until confirmed.
    preview = client.post(url, data)
    assert preview.status_code == 200 and "Move all 3 sessions" in preview.text
    assert [a.local_start.date() for a in series.appointments.order_by("sequence")][
        1
    ] == monday + datetime.timedelta(days=14)
    previewed = preview.context["preview"].rows[0].new_start.isoformat()
    response = client.post(url, {**data, "action": "shift", "previewed": previewed})
    assert response.status_code == 302
    days = [a.local_start.date() for a in series.appointments.order_by("sequence")]
    assert [(d - monday).days for d in days] == [0, 16, 30, 44]


def test_cancel_the_rest_of_a_series(client_as, front_desk, series):
    third = series.appointments.get(sequence=3)
    response = client_as(front_desk).post(
        reverse("scheduling:appointment_cancel", args=[third.pk]),
        {"reason": "Moved away", "rest_of_series": "on"},
    )
    assert response.status_code == 302
    assert list(series.appointments.order_by("sequence").values_list("state", flat=True)) == [
        "booked",
        "booked",
        "cancelled",
        "cancelled",
    ]


def test_cancel_without_a_reason_is_a_field_error(client_as, front_desk, series):
    first = series.appointments.get(sequence=1)
    response = client_as(front_desk).post(
        reverse("scheduling:appointment_cancel", args=[first.pk]), {"reason": ""}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}


def test_state_buttons_confirm_and_refuse_with_a_message(client_as, front_desk, series):
    first = series.appointments.get(sequence=1)
    client = client_as(front_desk)
    response = client.post(
        reverse("scheduling:appointment_state", args=[first.pk]), {"action": "confirm"}, follow=True
    )
    assert "Marked confirmed." in response.content.decode()
    response = client.post(
        reverse("scheduling:appointment_state", args=[first.pk]), {"action": "no_show"}, follow=True
    )
    assert "only once its start time has passed" in response.content.decode()
    first.refresh_from_db()
    assert first.state == "confirmed"


def test_patient_section_and_dashboard_panel(rf, front_desk, practitioner, series, monday, monkeypatch):
    from scheduling.dashboard import panel
    from scheduling.patient_section import section

    monkeypatch.setattr("scheduling.selectors.local_today", lambda: monday)  # an open day, any weekday

    request = rf.get("/")
    request.user = front_desk
    html = section(request, series.patient)
    assert "Plan a series" in html and "4 sessions, one session every two weeks" in html
    request.user = practitioner
    assert "Your appointments today" in panel(request)
    request.user = front_desk
    assert "Today's appointments" in panel(request)


def test_patient_page_lists_upcoming_appointments_with_date_kind_practitioner_and_room(
    client_as, front_desk, practitioner, monday, rooms
):
    """The rows are built in Python (patient_section._upcoming_rows); the markup is the template's."""
    patient = patient_aged(40, monday, given_name="Rosa", family_name="Lima")
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[1], starts_at=at(monday, 9, 30), by=front_desk
    )
    page = client_as(front_desk).get(patient.get_absolute_url()).content.decode()
    name = practitioner.get_full_name() or practitioner.get_username()
    assert (
        f'<li><a href="/scheduling/appointments/{appointment.pk}/">'
        f"{monday:%a} {monday.day} {monday:%b %Y}, 09:30</a> · Treatment session · {name} · Room 2</li>"
    ) in page
