"""The series planner starts from the practitioner's plan (docs/design.md, the flow of a patient,
step 4), showing front desk only its count and cadence; without a plan it falls back to the age band
(rules `band-proposes-practitioner-decides`, `age-banded-schedule`, `age-on-first-session`,
`no-band-no-default`, `course-count-range`, `twice-weekly-spacing`; docs/clinical-rules.md)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling.models import SessionSeries
from scheduling.planner import cadence_for_interval, interval_for_cadence
from scheduling.tests.factories import patient_aged
from treatments import services as clinical
from treatments.selectors import SeriesPlanDefaults, series_plan_for
from treatments.tests import factories

pytestmark = pytest.mark.django_db

SECRET = "Responds badly to lidocaine; history of melasma"


@pytest.fixture
def monday():
    today = timezone.localdate()
    return today + datetime.timedelta(days=14 - today.weekday())


def consulted(practitioner, patient, *, sign=True, **plan):
    day = timezone.localdate() - datetime.timedelta(days=3)
    consultation = clinical.start_consultation(
        patient=patient,
        by=practitioner,
        **{
            **factories.ELIGIBLE_PLAN,
            "date": day,
            "goals": SECRET,
            "plan_notes": SECRET,
            "decision_reason": SECRET,
            **plan,
        },
    )
    if sign:
        clinical.sign_consultation(consultation=consultation, by=practitioner)
    return consultation


def propose(client, patient, monday, **fields):
    return client.post(
        f"{reverse('scheduling:plan')}?patient={patient.pk}",
        {
            "patient": patient.pk,
            "first_date": monday.isoformat(),
            "preferred_time": "10:00",
            "action": "propose",
        }
        | fields,
    )


# ------------------------------------------- the cadence of a plan (rule `twice-weekly-spacing`)


@pytest.mark.parametrize(
    ("interval", "cadence"),
    [(3, (2, 7)), (4, (2, 7)), (7, (1, 7)), (14, (1, 14)), (21, (1, 21)), (10, (1, 10))],
)
def test_a_plans_interval_maps_to_the_planners_cadence(interval, cadence):
    assert cadence_for_interval(interval) == cadence


def test_two_sessions_per_week_is_written_as_three_days():
    assert [interval_for_cadence(*c) for c in ((2, 7), (1, 14), (1, 21))] == [3, 14, 21]


# ---------------------------------------------------------------- the selector front desk may use


def test_series_plan_holds_only_count_cadence_practitioner_and_date(practitioner, monday):
    patient = patient_aged(50, monday)
    consultation = consulted(practitioner, patient, plan_session_count=6, plan_interval_days=3)
    plan = series_plan_for(patient)
    assert plan == SeriesPlanDefaults(6, 3, practitioner, consultation.date)
    assert SeriesPlanDefaults._fields == ("count", "interval_days", "practitioner", "date")


def test_a_draft_consultation_gives_no_plan(practitioner, monday):
    patient = patient_aged(50, monday)
    consulted(practitioner, patient, sign=False, plan_session_count=6, plan_interval_days=3)
    assert series_plan_for(patient) is None


def test_a_later_signed_deferral_withdraws_the_plan(practitioner, monday):
    patient = patient_aged(50, monday)
    consulted(practitioner, patient, plan_session_count=6, plan_interval_days=3)
    later = clinical.start_consultation(
        patient=patient,
        by=practitioner,
        date=timezone.localdate(),
        decision="deferred",
        decision_reason="Active infection at the site",
    )
    clinical.sign_consultation(consultation=later, by=practitioner)
    assert series_plan_for(patient) is None


# ---------------------------------------------------------------- the planner page


def test_front_desk_planner_starts_from_the_practitioners_plan(
    client_as, front_desk, practitioner, rooms, monday
):
    patient = patient_aged(50, monday)
    consultation = consulted(practitioner, patient, plan_session_count=6, plan_interval_days=3)
    response = client_as(front_desk).get(reverse("scheduling:plan"), {"patient": patient.pk})
    form = response.context["form"]
    assert (form.initial["count"], form.initial["cadence"]) == (6, "2/7")
    html = response.content.decode()
    assert (
        f"Count and cadence from Inês Moura's plan of {consultation.date:%d/%m/%Y}: 6 sessions, "
        "two sessions per week." in html
    )
    assert SECRET not in html
    assert "hydration" not in html.lower()


def test_without_a_plan_the_planner_says_the_band_decides(client_as, front_desk, rooms, monday):
    patient = patient_aged(50, monday)
    response = client_as(front_desk).get(reverse("scheduling:plan"), {"patient": patient.pk})
    assert "count" not in response.context["form"].initial
    assert "No practitioner's plan on file" in response.content.decode()


def test_a_plan_outside_the_band_is_proposed_with_the_plan_as_reason(
    client_as, front_desk, practitioner, rooms, monday
):
    patient = patient_aged(33, monday)
    consulted(
        practitioner, patient, plan_session_count=5, plan_interval_days=10, plan_reason="Severe dehydration"
    )
    client = client_as(front_desk)
    page = client.get(reverse("scheduling:plan"), {"patient": patient.pk})
    form = page.context["form"]
    assert ("1/10", "One session every 10 days (the practitioner's plan)") in form.fields["cadence"].choices
    response = propose(
        client, patient, monday, count="5", cadence="1/10", override_reason=form.initial["override_reason"]
    )
    plan = response.context["plan"]
    assert (plan.count, plan.sessions_per_period, plan.period_days) == (5, 1, 10)
    assert plan.override_reason.startswith("As planned by Inês Moura at the consultation of")
    assert "Severe dehydration" not in response.content.decode()
    proposal = response.context["proposal"]
    assert proposal.ok
    assert [s.target for s in proposal.sessions] == [
        monday + datetime.timedelta(days=10 * i) for i in range(5)
    ]


def test_the_plan_does_not_lift_the_under_18_refusal(client_as, front_desk, practitioner, rooms, monday):
    teen = patient_aged(17, monday + datetime.timedelta(days=3))
    consulted(practitioner, teen, plan_session_count=4, plan_interval_days=14, plan_reason="Acne scarring")
    response = propose(client_as(front_desk), teen, monday, count="4", cadence="1/14", override_reason="x")
    assert "a treatment series is not booked for under-18s" in response.content.decode()
    assert not SessionSeries.objects.exists()


def test_search_results_link_to_the_patient_page(client_as, front_desk, rooms, monday):
    patient = patient_aged(33, monday, given_name="Joana", family_name="Araújo")
    html = client_as(front_desk).get(reverse("scheduling:plan"), {"q": "MC-" + patient.chart_number[3:]})
    assert reverse("patients:detail", args=[patient.pk]) in html.content.decode()


def test_patient_page_shows_front_desk_the_plan_count_and_cadence_only(
    client_as, front_desk, practitioner, monday
):
    patient = patient_aged(50, monday)
    consulted(practitioner, patient, plan_session_count=6, plan_interval_days=4)
    html = client_as(front_desk).get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Practitioner's plan:</span> 6 sessions, two sessions per week" in html
    assert SECRET not in html


def test_a_plan_that_follows_the_band_needs_no_reason_in_the_planner(
    client_as, front_desk, practitioner, rooms, monday
):
    patient = patient_aged(50, monday)
    consulted(practitioner, patient, plan_session_count=6, plan_interval_days=3)
    form = client_as(front_desk).get(reverse("scheduling:plan"), {"patient": patient.pk}).context["form"]
    assert "override_reason" not in form.initial
