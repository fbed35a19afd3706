"""Session records linked to the booked treatment appointment they took place in (issues 3 and 4)."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from clinic.errors import Refusal
from scheduling.models import Appointment, AppointmentKind, AppointmentState, AppointmentStateChange, Room
from scheduling.services import cancel_appointment
from treatments import services
from treatments.models import SessionRecord
from treatments.tests import factories

pytestmark = pytest.mark.django_db

SESSION = {"areas": ["face"], "technique": "needle", "needle_gauge": "32G", "volume_ml": Decimal("3.5")}


def booked(practitioner, patient, *, hours_ago=1, kind=AppointmentKind.TREATMENT, **fields):
    starts = (timezone.now() - datetime.timedelta(hours=hours_ago)).replace(second=0, microsecond=0)
    room, _ = Room.objects.get_or_create(name="Treatment room 1")
    return Appointment.objects.create(
        patient=patient,
        practitioner=practitioner,
        room=room,
        kind=kind,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=1),
        **fields,
    )


@pytest.fixture
def formulation(practitioner):
    return factories.formulation(practitioner)


@pytest.fixture
def appointment(practitioner, formulation):
    return booked(practitioner, formulation.patient)


def record_for(appointment, formulation, practitioner, **fields):
    return services.record_session(
        formulation=formulation,
        by=practitioner,
        appointment=appointment,
        **{
            **SESSION,
            "performed_at": appointment.starts_at,
            "lots": factories.lots_for(formulation),
            **fields,
        },
    )


# ---------------------------------------------------------------- services


def test_a_session_recorded_for_an_appointment_is_linked_to_it(appointment, formulation, practitioner):
    record = record_for(appointment, formulation, practitioner)
    assert record.appointment == appointment
    assert SessionRecord.objects.get(appointment=appointment) == record


def test_a_second_record_for_the_same_appointment_is_refused(appointment, formulation, practitioner):
    record_for(appointment, formulation, practitioner)
    with pytest.raises(Refusal) as refused:
        record_for(appointment, formulation, practitioner)
    local = timezone.localtime(appointment.starts_at)
    assert refused.value.message == (
        f"The appointment of {local:%d/%m/%Y at %H:%M} already has its session record: open it from the "
        "appointment instead of recording the session again."
    )
    assert SessionRecord.objects.filter(appointment=appointment).count() == 1


def test_the_database_keeps_one_record_per_appointment(appointment, formulation, practitioner):
    first = record_for(appointment, formulation, practitioner)
    second = factories.session_record(practitioner, formulation)
    second.appointment = first.appointment
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


@pytest.mark.parametrize("state", [AppointmentState.CANCELLED, AppointmentState.NO_SHOW])
def test_no_session_is_recorded_for_a_cancelled_or_missed_appointment(practitioner, formulation, state):
    appointment = booked(practitioner, formulation.patient, state=state)
    with pytest.raises(Refusal, match=f"is {state.label.lower()}: no session can be recorded for it"):
        record_for(appointment, formulation, practitioner)
    assert not SessionRecord.objects.exists()


def test_no_session_is_recorded_before_the_day_of_the_appointment(practitioner, formulation):
    appointment = booked(practitioner, formulation.patient, hours_ago=-48)
    with pytest.raises(Refusal, match="has not happened yet: record the session on the day"):
        record_for(appointment, formulation, practitioner, performed_at=timezone.now())


def test_a_consultation_appointment_takes_no_session_record(practitioner, formulation):
    appointment = booked(practitioner, formulation.patient, kind=AppointmentKind.CONSULTATION)
    with pytest.raises(Refusal, match="is a consultation, not a treatment session"):
        record_for(appointment, formulation, practitioner)


def test_another_patients_appointment_is_refused(practitioner, formulation):
    appointment = booked(practitioner, factories.patient())
    with pytest.raises(Refusal, match="is another patient's"):
        record_for(appointment, formulation, practitioner)


def test_marking_the_session_done_completes_its_appointment_with_logged_steps(
    appointment, formulation, practitioner
):
    record = record_for(appointment, formulation, practitioner)
    services.mark_session_done(session_record=record, by=practitioner)
    appointment.refresh_from_db()
    assert appointment.state == AppointmentState.COMPLETED
    steps = AppointmentStateChange.objects.filter(appointment=appointment).order_by("id")
    assert [(s.from_state, s.to_state, s.by) for s in steps] == [
        ("booked", "arrived", practitioner),
        ("arrived", "completed", practitioner),
    ]
    assert record.aftercare_due_at is not None


def test_an_appointment_already_completed_stays_completed(appointment, formulation, practitioner):
    appointment.state = AppointmentState.COMPLETED
    appointment.save()
    record = record_for(appointment, formulation, practitioner)
    services.mark_session_done(session_record=record, by=practitioner)
    appointment.refresh_from_db()
    assert appointment.state == AppointmentState.COMPLETED
    assert not AppointmentStateChange.objects.filter(appointment=appointment).exists()


def test_mark_done_changes_nothing_when_the_appointment_was_cancelled_meanwhile(
    practitioner, formulation, front_desk
):
    appointment = booked(practitioner, formulation.patient)
    record = record_for(appointment, formulation, practitioner)
    cancel_appointment(appointment=appointment, reason="Patient unwell", by=front_desk)
    with pytest.raises(Refusal) as refused:
        services.mark_session_done(session_record=record, by=practitioner)
    assert refused.value.message == (
        "The session cannot be marked done because its appointment cannot be completed: "
        "This appointment is cancelled: it cannot be marked completed."
    )
    record.refresh_from_db()
    assert record.done_at is None and record.aftercare_due_at is None


def test_a_session_without_appointment_is_marked_done_as_before(formulation, practitioner):
    record = factories.session_record(practitioner, formulation)
    services.mark_session_done(session_record=record, by=practitioner)
    assert record.appointment is None and record.done_at is not None


# ---------------------------------------------------------------- pages


def test_practitioner_records_the_session_from_the_appointment_page(
    client_as, practitioner, appointment, formulation
):
    client = client_as(practitioner)
    page = client.get(reverse("scheduling:appointment_detail", args=[appointment.pk])).content.decode()
    action = reverse("treatments:appointment_session", args=[appointment.pk])
    assert f'href="{action}">Record session</a>' in page

    lots = factories.lots_for(formulation)
    form = client.get(action)
    assert form.status_code == 200
    local = timezone.localtime(appointment.starts_at)
    assert form.context["form"].initial["performed_at"] == local
    assert form.context["formulation"] == formulation
    assert "for the <a" in form.content.decode()

    response = client.post(
        action,
        {
            "performed_at": f"{local:%Y-%m-%dT%H:%M}",
            "areas": ["face"],
            "technique": "needle",
            "needle_gauge": "32G",
            "volume_ml": "3.5",
            **{f"lot_{line_id}": str(lot.pk) for line_id, lot in lots.items()},
        },
    )
    record = SessionRecord.objects.get(appointment=appointment)
    assert response.status_code == 302
    assert response.url == reverse("treatments:session_detail", args=[record.pk])
    assert (record.patient, record.practitioner, record.formulation) == (
        appointment.patient,
        practitioner,
        formulation,
    )

    again = client.get(action)
    assert again.url == reverse("treatments:session_detail", args=[record.pk])
    client.post(reverse("treatments:session_done", args=[record.pk]), {"confirmed": "yes"})
    appointment.refresh_from_db()
    assert appointment.state == AppointmentState.COMPLETED


def test_record_session_without_a_formulation_says_what_to_do_first(client_as, practitioner):
    patient = factories.signed_consultation(practitioner).patient
    appointment = booked(practitioner, patient)
    response = client_as(practitioner).get(
        reverse("treatments:appointment_session", args=[appointment.pk]), follow=True
    )
    assert f"{patient.full_name} has no formulation yet" in response.content.decode()
    assert not SessionRecord.objects.exists()


def test_front_desk_sees_only_that_the_session_was_done(
    client_as, front_desk, practitioner, appointment, formulation
):
    record = record_for(appointment, formulation, practitioner, notes="Slight bruising left cheek")
    services.mark_session_done(session_record=record, by=practitioner)
    page = client_as(front_desk).get(reverse("scheduling:appointment_detail", args=[appointment.pk]))
    html = page.content.decode()
    assert "Session done" in html
    assert "Record session" not in html
    assert reverse("treatments:session_detail", args=[record.pk]) not in html
    for clinical in ("bruising", "formulation", "3.5", "Vitamin C", "hyaluronic"):
        assert clinical not in html
    assert (
        client_as(front_desk)
        .get(reverse("treatments:appointment_session", args=[appointment.pk]))
        .status_code
        == 403
    )


def test_clinic_admin_opens_the_record_read_only(
    client_as, clinic_admin, practitioner, appointment, formulation
):
    record = record_for(appointment, formulation, practitioner)
    client = client_as(clinic_admin)
    html = client.get(reverse("scheduling:appointment_detail", args=[appointment.pk])).content.decode()
    assert "Session recorded" in html
    assert reverse("treatments:session_detail", args=[record.pk]) in html
    assert "Record session" not in html
    assert client.post(reverse("treatments:appointment_session", args=[appointment.pk])).status_code == 403


def test_timeline_shows_the_appointment_of_each_session(
    client_as, practitioner, appointment, formulation, django_assert_max_num_queries
):
    record_for(appointment, formulation, practitioner)
    client = client_as(practitioner)
    # 12, plus the injection maps of the page's sessions (one query) and the allergy alert of the
    # patient header (three: screening, its allergen groups, its "yes" answers) less what it shares.
    # Two more write the access-log row of this read and its place in the audit sealer's queue
    # (clinic/audit.py).
    with django_assert_max_num_queries(15):
        html = client.get(reverse("treatments:timeline", args=[formulation.patient_id])).content.decode()
    local = timezone.localtime(appointment.starts_at)
    assert f"{local:%d/%m/%Y %H:%M}, Treatment room 1</a>" in html


def test_practitioner_dashboard_offers_record_session_then_its_state(
    client_as, practitioner, appointment, formulation
):
    client = client_as(practitioner)
    action = reverse("treatments:appointment_session", args=[appointment.pk])
    assert f'href="{action}">Record session</a>' in client.get("/").content.decode()
    record = record_for(appointment, formulation, practitioner)
    html = client.get("/").content.decode()
    assert "Record session" not in html
    assert f'href="{reverse("treatments:session_detail", args=[record.pk])}">Session open</a>' in html


def test_record_session_is_offered_only_from_the_day_of_the_appointment(client_as, practitioner, formulation):
    """Issue 15: "Record session" on a future appointment refused only after the click; now it is not
    offered before the day (the service refuses it too, test above)."""
    future = booked(practitioner, formulation.patient, hours_ago=-24 * 3)
    page = (
        client_as(practitioner)
        .get(reverse("scheduling:appointment_detail", args=[future.pk]))
        .content.decode()
    )
    assert "Record session" not in page
    assert "can be recorded from the day of the appointment" in page
