import io

import pytest
from django.contrib.auth.models import User

from clinic.tests.factories import UserFactory
from patients.models import AllergenGroup, Answer, ScreeningAnswer
from patients.services import screening_for
from treatments import demo
from treatments.models import Consultation, FormulationLine, SessionRecord
from treatments.tests import factories

pytestmark = pytest.mark.django_db


def test_demo_builds_signed_consultations_formulations_and_sessions_without_allergy_conflicts(monkeypatch):
    monkeypatch.setattr(demo, "ELIGIBLE_TARGET", 8)
    monkeypatch.setattr(demo, "DEFERRED_TARGET", 1)
    UserFactory(username="practitioner", role="practitioner")
    groups = list(AllergenGroup.objects.order_by("name"))
    for i in range(14):
        patient = factories.patient()
        screening = screening_for(patient)
        screening.allergen_groups.add(groups[i % len(groups)], groups[(i + 3) % len(groups)])
        if i == 0:
            row = ScreeningAnswer.objects.get(screening=screening, item="pregnancy")
            row.answer, row.answered_on = Answer.YES, "2026-01-01"
            row.save()
    out = io.StringIO()
    demo.build(stdout=out, seed=2026)
    assert Consultation.objects.filter(decision="eligible", signed_at__isnull=False).count() == 8
    assert SessionRecord.objects.filter(done_at__isnull=False, aftercare_due_at__isnull=False).exists()
    for line in FormulationLine.objects.select_related("ingredient", "formulation__patient__screening"):
        allergies = set(line.formulation.patient.screening.allergen_groups.values_list("pk", flat=True))
        assert line.ingredient.allergen_group_id not in allergies
        assert line.amount <= line.ingredient.maximum_amount
    assert "eligible" in out.getvalue()
    assert User.objects.count() == 1
