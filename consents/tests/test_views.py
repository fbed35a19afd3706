"""The consent pages as their users meet them."""

import pytest
from django.urls import reverse

from clinic.models import AccessLogEntry
from consents import selectors
from consents.demo import drawn_signature
from consents.models import PatientConsent
from consents.tests.factories import signed_consent
from treatments.tests import factories
from treatments.tests.test_appointment_sessions import booked

pytestmark = pytest.mark.django_db


def _sign_data(template, **extra):
    data = {
        "template": template.pk,
        "patient_name": "Ana Example",
        "photos_clinical": "yes",
        "photos_marketing": "no",
        "photos_research": "no",
        "patient_signature": drawn_signature("ana"),
        "practitioner_signature": drawn_signature("ines"),
    }
    data |= {f"statement_{n}": "on" for n in range(len(template.statement_list))}
    return data | extra


def test_the_practitioner_signs_with_the_patient_on_the_tablet_page(practitioner, client_as):
    patient = factories.patient()
    client = client_as(practitioner)
    url = reverse("consents:sign", args=[patient.pk])
    page = client.get(url)
    assert 'data-signature-for="id_patient_signature"' in page.text
    assert "signature_pad.umd.min.js" in page.text
    template = selectors.current_template()
    response = client.post(url, _sign_data(template), HTTP_USER_AGENT="Mozilla/5.0 (iPad)")
    consent = PatientConsent.objects.get()
    assert response.url == reverse("consents:detail", args=[consent.pk])
    assert consent.device == "Mozilla/5.0 (iPad)" and consent.photos_clinical and not consent.photos_marketing


def test_a_missing_tick_or_signature_is_said_and_nothing_is_lost(practitioner, client_as):
    patient = factories.patient()
    client = client_as(practitioner)
    template = selectors.current_template()
    data = _sign_data(template, patient_signature="")
    data.pop("statement_0")
    response = client.post(reverse("consents:sign", args=[patient.pk]), data)
    assert response.status_code == 200 and "tick every statement" in response.text
    assert 'value="Ana Example"' in response.text
    response = client.post(
        reverse("consents:sign", args=[patient.pk]), _sign_data(template, patient_signature="")
    )
    assert "The patient has not signed yet" in response.text
    assert not PatientConsent.objects.exists()


def test_front_desk_sees_only_signed_or_missing(front_desk, practitioner, client_as):
    appointment = booked(practitioner, factories.patient())
    client = client_as(front_desk)
    page = client.get(reverse("scheduling:appointment_detail", args=[appointment.pk]))
    assert "Consent missing" in page.text
    assert reverse("consents:patient", args=[appointment.patient_id]) not in page.text
    patient_page = reverse("patients:detail", args=[appointment.patient_id])
    assert "Consent missing" in client.get(patient_page).text
    consent = signed_consent(appointment.patient, practitioner)
    page = client.get(reverse("scheduling:appointment_detail", args=[appointment.pk]))
    assert "Consent signed" in page.text
    # The cached patient page is retired by the signature.
    assert "Consent signed" in client.get(patient_page).text
    assert client.get(reverse("consents:detail", args=[consent.pk])).status_code == 403
    assert client.get(reverse("consents:signature", args=[consent.pk, "patient"])).status_code == 403
    day = appointment.starts_at.date().isoformat()
    assert "Consent signed" in client.get(reverse("scheduling:day_list") + f"?date={day}").text


def test_reading_a_signed_consent_is_logged_and_the_pdf_has_the_signatures(
    practitioner, clinic_admin, client_as
):
    consent = signed_consent(factories.patient(), practitioner)
    client = client_as(clinic_admin)
    assert client.get(reverse("consents:detail", args=[consent.pk])).status_code == 200
    response = client.get(reverse("consents:pdf", args=[consent.pk]))
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert AccessLogEntry.objects.filter(user=clinic_admin, patient=consent.patient).count() == 2
    printed = client.get(reverse("consents:pdf", args=[consent.pk]) + "?print=1")
    assert printed.text.count('src="data:image/png;base64,') == 2
    # Clinic admin reads; only practitioners record a withdrawal.
    assert client.post(reverse("consents:withdraw", args=[consent.pk]), {"reason": "x"}).status_code == 403


def test_clinic_admin_saves_a_new_wording_as_a_new_version(clinic_admin, client_as):
    client = client_as(clinic_admin)
    current = selectors.current_template()
    response = client.post(
        reverse("consents:template_new"),
        {"title": current.title, "text": current.text + "\nNew line.", "statements": current.statements},
    )
    assert selectors.current_template().version == current.version + 1
    assert response.url == reverse("consents:template_detail", args=[selectors.current_template().pk])
