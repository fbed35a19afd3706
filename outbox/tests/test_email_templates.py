"""The read-only "E-mail templates" page: every kind patients receive, rendered from made-up data."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

KINDS = {
    "Aftercare": "Aftercare for your session at Mesoclinic",
    "Appointment reminder": "Reminder: your appointment at Mesoclinic on",
    "Series confirmation": "Your 4 sessions at Mesoclinic, from",
    "Appointment moved": "Your appointment at Mesoclinic has moved to",
    "Appointment cancelled": "Cancelled: your appointment at Mesoclinic on",
    "Test message": "Test message from Mesoclinic",
    # Issue 15: a booking inside a lead time, and one notice for the rest of a series moved or cancelled.
    "Booking confirmation": "Booked: your appointment at Mesoclinic on",
    "Sessions moved": "Your sessions at Mesoclinic have moved: 3 new times",
    "Sessions cancelled": "Cancelled: your 3 sessions at Mesoclinic from",
    "Recall notice": "Please contact Mesoclinic",
}


def test_page_shows_each_kind_with_subject_and_text_part(
    client_as, clinic_admin, django_assert_max_num_queries
):
    client = client_as(clinic_admin)
    with django_assert_max_num_queries(18):  # one settings read per sample
        response = client.get(reverse("clinic:email_templates"))
    html = response.content.decode()
    assert response.status_code == 200
    for label, subject in KINDS.items():
        assert f">{label}</h2>" in html and subject in html
    assert "Keep the area clean and moisturised." in html
    assert "numbing cream may be applied" in html
    assert "Rua das Flores 12" in html


def test_html_part_is_served_in_a_sandbox(client_as, front_desk):
    response = client_as(front_desk).get(reverse("clinic:email_template_html", kwargs={"kind": "reminder"}))
    assert response.status_code == 200
    assert "Confirm I will come" in response.content.decode()
    assert "sandbox" in response["Content-Security-Policy"]


def test_unknown_kind_is_404(client_as, front_desk):
    response = client_as(front_desk).get(reverse("clinic:email_template_html", kwargs={"kind": "nope"}))
    assert response.status_code == 404


def test_the_page_writes_nothing(client_as, clinic_admin):
    from outbox.models import OutboxMessage
    from patients.models import Patient
    from scheduling.models import Appointment

    client_as(clinic_admin).get(reverse("clinic:email_templates"))
    assert (Patient.objects.count(), Appointment.objects.count(), OutboxMessage.objects.count()) == (0, 0, 0)


def test_hostile_clinic_settings_show_as_text(client_as, clinic_admin):
    from clinic.models import ClinicSettings

    ClinicSettings.objects.filter(pk=ClinicSettings.load().pk).update(
        name="<script>alert(1)</script>",
        address='<meta http-equiv="refresh" content="0;url=http://example.invalid">',
    )
    page = client_as(clinic_admin).get(reverse("clinic:email_templates")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert '<meta http-equiv="refresh"' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_page_names_each_kind_in_words_not_by_its_code(client_as, front_desk):
    page = client_as(front_desk).get(reverse("clinic:email_templates")).content.decode()
    assert ">Appointment reminder</h2>" in page
    assert ">reminder<" not in page and ">test_message<" not in page
