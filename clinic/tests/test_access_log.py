"""One access log of every clinical read (issue 16, "Audit"): who, when, what, whose, from where;
searchable by the clinic admin by patient and by user, in a bounded number of queries; never shown
to front desk."""

import pytest
from django.urls import reverse

from clinic.models import AccessLogEntry
from treatments.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(practitioner):
    return factories.session_record(practitioner)


def test_every_clinical_page_logs_one_read_with_who_what_and_where(client_as, practitioner, record):
    client = client_as(practitioner)
    patient = record.patient
    formulation = record.formulation
    pages = {
        reverse("patients:detail", args=[patient.pk]): ("patient_page", None),
        reverse("patients:screening", args=[patient.pk]): ("screening", patient.screening.pk),
        reverse("treatments:timeline", args=[patient.pk]): ("timeline", None),
        reverse("treatments:consultation_detail", args=[formulation.consultation_id]): (
            "consultation",
            formulation.consultation_id,
        ),
        reverse("treatments:formulation_detail", args=[formulation.pk]): ("formulation", formulation.pk),
        reverse("treatments:session_detail", args=[record.pk]): ("session_record", record.pk),
    }
    for url, (what, object_id) in pages.items():
        response = client.get(url, REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="Mozilla/5.0 Test")
        assert response.status_code == 200, url
        entry = AccessLogEntry.objects.order_by("-id").first()
        assert (entry.what, entry.object_id, entry.patient_id, entry.user_id) == (
            what,
            object_id,
            patient.pk,
            practitioner.pk,
        ), url
        assert (entry.ip_address, entry.user_agent) == ("192.0.2.10", "Mozilla/5.0 Test")
    assert AccessLogEntry.objects.count() == len(pages)


def test_front_desk_reads_nothing_clinical_and_logs_nothing(client_as, front_desk, record):
    client = client_as(front_desk)
    assert client.get(reverse("patients:detail", args=[record.patient_id])).status_code == 200
    assert client.get(reverse("clinic:access_log")).status_code == 403
    assert not AccessLogEntry.objects.exists()


def test_practitioners_do_not_see_the_access_log(client_as, practitioner):
    assert client_as(practitioner).get(reverse("clinic:access_log")).status_code == 403


def test_the_admin_searches_by_patient_and_by_user_in_bounded_queries(
    client_as, practitioner, clinic_admin, record, django_assert_max_num_queries
):
    other = factories.patient(given_name="Olga", family_name="Outra")
    reader = client_as(practitioner)
    for _ in range(60):
        reader.get(reverse("treatments:timeline", args=[record.patient_id]))
    reader.get(reverse("treatments:timeline", args=[other.pk]))
    client = client_as(clinic_admin)
    url = reverse("clinic:access_log")
    # session, user and roles, settings, the patient, the staff list, the count, the page: whatever the size
    with django_assert_max_num_queries(10):
        page = client.get(url, {"patient": record.patient_id})
    rows = page.text.split("<tbody>")[1]
    assert rows.count("<tr>") == 50 and "Olga" not in rows
    assert "Page 1 of 2" in page.text
    assert "Olga" in client.get(url, {"patient": other.pk}).text.split("<tbody>")[1]
    by_admin = client.get(url, {"user": clinic_admin.pk}).text.split("<tbody>")[1]
    assert "No clinical record was opened" in by_admin
    assert client.get(url, {"patient": "junk", "user": "9" * 30, "page": "x"}).status_code == 200


def test_an_unknown_kind_of_read_is_a_programming_error(rf, practitioner, record):
    from clinic.audit import log_clinical_read

    request = rf.get("/")
    request.user = practitioner
    with pytest.raises(ValueError):
        log_clinical_read(request, patient=record.patient, what="gossip")


def test_the_client_address_comes_from_the_trusted_proxy_header_only_when_configured(rf, settings):
    from clinic.audit import client_address

    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="203.0.113.9")
    assert client_address(request) == "10.0.0.1"
    settings.AUDIT_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    assert client_address(request) == "203.0.113.9"
    assert client_address(rf.get("/", REMOTE_ADDR="not an address")) is None
