"""The staff Messages page, a message's detail and history, retry, the test message, the dashboard."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from clinic.emails import render_email
from outbox import kinds
from outbox import services as outbox
from outbox.models import OutboxMessage
from outbox.services import send_test_message
from patients.tests.factories import PatientFactory

LISBON = ZoneInfo("Europe/Lisbon")


def make(key, *, state="pending", due=None, recipient="ana@example.com", patient=None, error=""):
    return OutboxMessage.objects.create(
        kind="test_message",
        idempotency_key=key,
        recipient=recipient,
        patient=patient,
        due_at=due or timezone.now(),
        state=state,
        sent_at=timezone.now() if state == "sent" else None,
        last_error=error,
        message_id=kinds.message_id_for(key),
    )


def listed(response) -> list[str]:
    return [m.idempotency_key for m in response.context["page"].object_list]


def test_messages_page_lists_newest_due_first(client_as, front_desk):
    make("a", due=timezone.now() - timedelta(days=1))
    make("b", due=timezone.now())
    response = client_as(front_desk).get(reverse("clinic:outbox_list"))
    assert response.status_code == 200
    assert listed(response) == ["b", "a"]
    assert b"Messages</a>" in response.content  # the nav entry


def test_messages_page_filters_by_state_kind_patient_and_dates(client_as, front_desk):
    patient = PatientFactory(given_name="Joana", family_name="Conceição", email="joana@example.com")
    make("failed", state="failed", error="SMTP 550 no such user")
    make("for-patient", patient=patient, recipient=patient.email)
    make("old", due=datetime(2026, 3, 1, 10, tzinfo=LISBON))
    client = client_as(front_desk)
    url = reverse("clinic:outbox_list")
    assert listed(client.get(url, {"state": "failed"})) == ["failed"]
    assert listed(client.get(url, {"kind": "test_message", "state": "pending"})) == ["for-patient", "old"]
    assert listed(client.get(url, {"q": "conceicao"})) == ["for-patient"]
    assert listed(client.get(url, {"patient": patient.pk})) == ["for-patient"]
    assert listed(client.get(url, {"date_from": "2026-03-01", "date_to": "2026-03-01"})) == ["old"]


def test_bad_filters_are_explained_not_a_500(client_as, front_desk):
    make("a")
    response = client_as(front_desk).get(
        reverse("clinic:outbox_list"),
        {"state": "nonsense", "date_from": "2026-05-02", "date_to": "2026-05-01"},
    )
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert "Some filters were not understood and are ignored" in response.content.decode()


def test_messages_page_query_count_does_not_grow_with_rows(
    client_as, front_desk, django_assert_max_num_queries
):
    for i in range(30):
        make(f"m{i}", patient=PatientFactory(email=f"p{i}@example.com"))
    client = client_as(front_desk)
    client.get(reverse("clinic:outbox_list"))  # warm the session
    # session, user, clinic settings, roles, count, page, state counts, session save (3 with savepoints)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("clinic:outbox_list"))
    assert len(response.context["page"].object_list) == 30


def test_messages_page_is_paginated(client_as, front_desk):
    for i in range(55):
        make(f"m{i:02}", due=timezone.now() - timedelta(minutes=i))
    response = client_as(front_desk).get(reverse("clinic:outbox_list"), {"page": 2, "state": "pending"})
    assert listed(response) == [f"m{i:02}" for i in range(50, 55)]
    assert "Page 2 of 2" in response.content.decode()


def test_failed_message_shows_its_error_and_retry_button(client_as, front_desk, smtp_server):
    message = send_test_message(recipient="nobody@example.com", user=front_desk)
    smtp_server.refuse("nobody@example.com")
    outbox.dispatch_due()
    response = client_as(front_desk).get(reverse("clinic:outbox_detail", args=[message.pk]))
    page = response.content.decode()
    assert "Recipient refused — nobody@example.com: 550 5.1.1 Mailbox unavailable" in page
    assert "Retry now" in page
    assert "Created" in page and "Failed" in page  # the history


def test_practitioner_reads_a_message_but_cannot_retry(client_as, practitioner):
    message = make("f", state="failed", error="SMTP 550")
    client = client_as(practitioner)
    page = client.get(reverse("clinic:outbox_detail", args=[message.pk])).content.decode()
    assert "Retry now</button>" not in page
    assert "Front desk or the clinic admin can retry it." in page
    assert client.post(reverse("clinic:outbox_retry", args=[message.pk])).status_code == 403


def test_retry_now_puts_the_message_back_in_the_queue(client_as, front_desk):
    message = make("f", state="failed", error="SMTP 550", due=timezone.now() - timedelta(days=1))
    response = client_as(front_desk).post(reverse("clinic:outbox_retry", args=[message.pk]), follow=True)
    assert "The message to ana@example.com will be sent again within a minute." in response.content.decode()
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("pending", 0)
    assert message.due_at > timezone.now() - timedelta(seconds=5)
    assert message.events.get().user == front_desk


def test_retry_of_a_message_that_did_not_fail_is_refused_with_a_reason(client_as, front_desk):
    message = make("s", state="sent")
    response = client_as(front_desk).post(reverse("clinic:outbox_retry", args=[message.pk]), follow=True)
    assert "Only failed messages can be retried; this one is sent." in response.content.decode()


def test_pending_message_shows_a_preview_sent_message_its_snapshot(client_as, clinic_admin, smtp_server):
    message = send_test_message(recipient="ana@example.com", user=clinic_admin)
    client = client_as(clinic_admin)
    page = client.get(reverse("clinic:outbox_detail", args=[message.pk])).content.decode()
    assert "Preview: what this message would say if it were sent now." in page
    assert "Test message from Mesoclinic" in page
    outbox.dispatch_due()
    page = client.get(reverse("clinic:outbox_detail", args=[message.pk])).content.decode()
    assert "As sent." in page and "Rua das Flores 12" in page


def test_html_part_is_served_sandboxed_for_the_preview_frame(client_as, clinic_admin):
    message = send_test_message(recipient="ana@example.com", user=clinic_admin)
    response = client_as(clinic_admin).get(reverse("clinic:outbox_body", args=[message.pk]))
    assert response.status_code == 200
    assert b"<strong>Mesoclinic</strong>" in response.content
    policy = response["Content-Security-Policy"]
    assert "sandbox" in policy and "script-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_missing_message_is_a_404(client_as, front_desk):
    assert client_as(front_desk).get(reverse("clinic:outbox_detail", args=[999999])).status_code == 404


def test_clinic_admin_sends_a_test_message_through_the_outbox(client_as, clinic_admin, smtp_server):
    response = client_as(clinic_admin).post(reverse("clinic:outbox_test"), {"recipient": "me@example.com"})
    message = OutboxMessage.objects.get()
    assert response.url == reverse("clinic:outbox_detail", args=[message.pk])
    assert (message.kind, message.recipient, message.state) == ("test_message", "me@example.com", "pending")
    outbox.dispatch_due()
    assert [m["To"] for m in smtp_server.messages] == ["me@example.com"]


def test_test_message_with_a_bad_address_is_refused(client_as, clinic_admin):
    response = client_as(clinic_admin).post(
        reverse("clinic:outbox_test"), {"recipient": "not-an-address"}, follow=True
    )
    assert "Give a valid e-mail address for the test message." in response.content.decode()
    assert OutboxMessage.objects.count() == 0


def test_front_desk_cannot_send_a_test_message(client_as, front_desk):
    assert (
        client_as(front_desk).post(reverse("clinic:outbox_test"), {"recipient": "a@example.com"}).status_code
        == 403
    )


def test_dashboard_shows_failed_messages(client_as, front_desk):
    make("f1", state="failed")
    make("f2", state="failed")
    page = client_as(front_desk).get(reverse("clinic:dashboard")).content.decode()
    assert '<span class="fs-3 fw-semibold">2</span> messages to patients could not be delivered.' in page
    assert reverse("clinic:outbox_list") + "?state=failed" in page


def test_dashboard_says_nothing_when_no_message_failed(client_as, front_desk):
    make("ok", state="sent")
    assert (
        "could not be delivered"
        not in client_as(front_desk).get(reverse("clinic:dashboard")).content.decode()
    )


HOSTILE = ["<script>alert(1)</script>", '<meta http-equiv="refresh" content="0;url=http://example.invalid">']


def test_a_hostile_patient_name_shows_as_text_on_the_message_page(client_as, front_desk):
    """The text part is rendered with autoescape off and comes back marked safe: the page escapes it."""
    patient = PatientFactory(given_name=HOSTILE[0], family_name=HOSTILE[1], email="pat@example.com")

    def build(message):
        name = f"{message.patient.given_name} {message.patient.family_name}"
        return render_email("test_message", {"requested_by": name})

    kinds.register_kind("hostile_note", build, label="Note")
    message = make("hostile", patient=patient, recipient=patient.email)
    OutboxMessage.objects.filter(pk=message.pk).update(kind="hostile_note")

    page = client_as(front_desk).get(reverse("clinic:outbox_detail", args=[message.pk])).content.decode()

    assert "Preview: what this message would say if it were sent now." in page
    for hostile in HOSTILE:
        assert hostile not in page
    assert "sent by &lt;script&gt;alert(1)&lt;/script&gt; &lt;meta http-equiv=" in page


def test_front_desk_reads_clinic_words_not_internal_keys(client_as, front_desk, clinic_admin):
    message = make("test_message:5f0c1d2e", state="failed", error="SMTP 550 5.1.1 Mailbox unavailable")
    client = client_as(front_desk)
    for url in (reverse("clinic:outbox_list"), reverse("clinic:outbox_detail", args=[message.pk])):
        page = client.get(url).content.decode()
        assert "Test message" in page
        assert "test_message:5f0c1d2e" not in page and message.message_id not in page
        assert ">test_message<" not in page and ">failed<" not in page
    # The clinic admin, who may take a delivery up with the mail provider, sees the references.
    page = client_as(clinic_admin).get(reverse("clinic:outbox_detail", args=[message.pk])).content.decode()
    assert "test_message:5f0c1d2e" in page and escape(message.message_id) in page
