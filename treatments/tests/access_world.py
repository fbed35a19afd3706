"""Example URL arguments for the access table test (clinic/tests/test_access.py)."""

import datetime

from django.utils import timezone

from clinic.roles import PRACTITIONER
from scheduling.models import Appointment, Room
from treatments.tests import factories


def url_kwargs(world):
    practitioner = world["users"][PRACTITIONER]
    consultation = factories.signed_consultation(practitioner)
    first = factories.formulation(practitioner, consultation)
    second = factories.formulation(practitioner, consultation, previous=first, notes="second")
    record = factories.session_record(practitioner, first)
    starts = timezone.now() - datetime.timedelta(hours=2)
    appointment = Appointment.objects.create(
        patient=consultation.patient,
        practitioner=practitioner,
        room=Room.objects.create(name="Access world room"),
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=1),
    )
    return {
        "treatments:timeline": {"patient_id": consultation.patient_id},
        "treatments:consultation_create": {"patient_id": consultation.patient_id},
        "treatments:consultation_detail": {"pk": consultation.pk},
        "treatments:consultation_edit": {"pk": consultation.pk},
        "treatments:consultation_sign": {"pk": consultation.pk},
        "treatments:addendum_add": {"pk": consultation.pk},
        "treatments:formulation_create": {"consultation_id": consultation.pk},
        "treatments:formulation_detail": {"pk": first.pk},
        "treatments:formulation_revise": {"pk": second.pk},
        "treatments:formulation_diff": {"pk": first.pk, "other_pk": second.pk},
        "treatments:session_create": {"formulation_id": second.pk},
        "treatments:appointment_session": {"appointment_id": appointment.pk},
        "treatments:session_detail": {"pk": record.pk},
        "treatments:session_edit": {"pk": record.pk},
        "treatments:session_done": {"pk": record.pk},
        "treatments:session_map": {"pk": record.pk},
        "treatments:session_correction_add": {"pk": record.pk},
        "treatments:lot_recall": {"pk": record.lots.first().stock_lot_id},
    }
