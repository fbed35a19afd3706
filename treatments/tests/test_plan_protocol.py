"""The consultation's plan starts from the protocol band for the patient's age (rules
`band-proposes-practitioner-decides`, `age-banded-schedule`, `band-edges`, `no-band-no-default`,
`course-count-range`, `twice-weekly-spacing`; docs/clinical-rules.md)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.errors import Refusal
from treatments import services
from treatments.models import Consultation
from treatments.tests import factories

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 2)


def aged(age: int, on: datetime.date = DAY):
    return factories.patient(date_of_birth=on.replace(year=on.year - age))


def eligible(practitioner, patient, **plan):
    return services.start_consultation(
        patient=patient,
        by=practitioner,
        **{**factories.ELIGIBLE_PLAN, "date": DAY, **plan},
    )


def test_a_course_inside_the_band_needs_no_reason(practitioner):
    consultation = eligible(practitioner, aged(50), plan_session_count=6, plan_interval_days=3)
    assert consultation.plan_reason == ""


def test_four_days_apart_is_also_two_sessions_per_week(practitioner):
    """Rule `twice-weekly-spacing`: Monday–Thursday is 3 days, Thursday–Monday 4; both read as the
    band's cadence."""
    eligible(practitioner, aged(50), plan_session_count=6, plan_interval_days=4)
    assert Consultation.objects.count() == 1


def test_a_count_outside_the_band_needs_a_reason(practitioner):
    with pytest.raises(Refusal) as refused:
        eligible(practitioner, aged(33), plan_session_count=6, plan_interval_days=14)
    assert refused.value.message == (
        "6 sessions is outside the band's 3–4 sessions: give the reason for this course."
    )
    assert refused.value.field == "plan_reason"
    eligible(
        practitioner, aged(33), plan_session_count=6, plan_interval_days=14, plan_reason="Deep dehydration"
    )
    assert Consultation.objects.get().plan_reason == "Deep dehydration"


def test_another_cadence_needs_a_reason(practitioner):
    with pytest.raises(Refusal) as refused:
        eligible(practitioner, aged(50), plan_session_count=6, plan_interval_days=14)
    assert refused.value.message == (
        "The band's cadence is two sessions per week: give the reason for this course."
    )


def test_the_age_on_the_consultation_date_chooses_the_band(practitioner):
    """Rule `band-edges`: 30 is in [30, 35), every two weeks, not in [28, 30), every three weeks."""
    eligible(practitioner, aged(30), plan_session_count=4, plan_interval_days=14)
    with pytest.raises(Refusal, match="The band's cadence is one session every two weeks"):
        eligible(practitioner, aged(30), plan_session_count=4, plan_interval_days=21)


def test_no_protocol_for_the_age_needs_a_reason(practitioner):
    with pytest.raises(Refusal) as refused:
        eligible(practitioner, aged(42), plan_session_count=4, plan_interval_days=14)
    assert refused.value.message == (
        "No protocol for age 42: give the reason for the count and cadence chosen."
    )
    eligible(practitioner, aged(42), plan_session_count=4, plan_interval_days=14, plan_reason="Fine lines")


def test_signing_checks_the_plan_against_the_band_too(practitioner):
    consultation = services.start_consultation(patient=aged(50), by=practitioner, date=DAY)
    # A draft saved before plans were checked against the bands (the service refuses it today).
    Consultation.objects.filter(pk=consultation.pk).update(
        decision="eligible", plan_areas=["face"], plan_session_count=10, plan_interval_days=3
    )
    with pytest.raises(Refusal, match="10 sessions is outside the band's 6 sessions"):
        services.sign_consultation(consultation=consultation, by=practitioner)


def test_new_consultation_is_prefilled_from_the_band(client_as, practitioner):
    today = timezone.localdate()
    patient = aged(50, today)
    response = client_as(practitioner).get(reverse("treatments:consultation_create", args=[patient.pk]))
    form = response.context["form"]
    assert (form.initial["plan_session_count"], form.initial["plan_interval_days"]) == (6, 3)
    html = response.content.decode()
    assert "<strong>Ages 45–65: two sessions per week</strong> (age 50 on the consultation date)" in html


def test_no_protocol_is_said_and_nothing_is_prefilled(client_as, practitioner):
    patient = aged(42, timezone.localdate())
    response = client_as(practitioner).get(reverse("treatments:consultation_create", args=[patient.pk]))
    assert "plan_session_count" not in response.context["form"].initial
    assert (
        "<strong>No protocol for this age (42)</strong> — choose count and cadence and give a reason."
        in response.content.decode()
    )


def test_the_form_shows_the_missing_reason_on_its_field(client_as, practitioner):
    today = timezone.localdate()
    patient = aged(50, today)
    data = {
        "date": today.isoformat(),
        "concerns": ["hydration"],
        "decision": "eligible",
        "plan_areas": ["face"],
        "plan_session_count": "8",
        "plan_interval_days": "3",
        **{f"answer_{item}": "no" for item in services.screening_answers(patient)},
    }
    response = client_as(practitioner).post(
        reverse("treatments:consultation_create", args=[patient.pk]), data
    )
    assert response.status_code == 200
    assert response.context["form"].errors["plan_reason"] == [
        "8 sessions is outside the band's 6 sessions: give the reason for this course."
    ]
    assert not Consultation.objects.exists()
