"""Journey: a clinic admin checks e-mail with a test message, and front desk retries a failed one."""

from django.db import transaction
from playwright.sync_api import expect

from outbox import services as outbox
from outbox.models import OutboxMessage
from outbox.services import send_test_message


def test_admin_sends_a_test_message_and_sees_it_sent(page, login, clinic_admin, smtp_server, screenshots):
    login(clinic_admin)
    page.get_by_role("link", name="Messages").click()
    page.get_by_label("Send a test message to").fill("me@example.com")
    page.get_by_role("button", name="Send test message").click()
    expect(page.locator(".messages")).to_contain_text("Test message queued for me@example.com")
    expect(page.get_by_text("Preview: what this message would say if it were sent now.")).to_be_visible()
    page.screenshot(path=screenshots / "outbox-detail-pending.png", full_page=True)

    outbox.dispatch_due()
    page.reload()
    expect(page.get_by_text("As sent.")).to_be_visible()
    frame = page.frame_locator("iframe[title='HTML part of the message']")
    expect(frame.locator("body")).to_contain_text("Rua das Flores 12")
    page.screenshot(path=screenshots / "outbox-detail-sent.png", full_page=True)
    # Besides the test message, only the security notice of the admin's first second-factor enrolment.
    tests = [m["To"] for m in smtp_server.messages if m["To"] == "me@example.com"]
    others = [m["To"] for m in smtp_server.messages if m["To"] != "me@example.com"]
    assert tests == ["me@example.com"] and others in ([], [clinic_admin.email])
    assert page.console_errors == []


def test_front_desk_sees_a_failure_on_the_dashboard_and_retries_it(
    page, login, front_desk, smtp_server, screenshots
):
    with transaction.atomic():
        message = send_test_message(recipient="nobody@example.com", user=front_desk)
    smtp_server.refuse("nobody@example.com")
    outbox.dispatch_due()

    login(front_desk)
    expect(page.locator("main")).to_contain_text("1 message to patients could not be delivered.")
    page.screenshot(path=screenshots / "outbox-dashboard.png", full_page=True)
    page.get_by_role("link", name="See failed messages").click()
    page.wait_for_url("**/messages/?*")
    page.screenshot(path=screenshots / "outbox-list-failed.png", full_page=True)
    page.get_by_role("link", name=message.due_at.astimezone().strftime("%a")).first.click()
    page.wait_for_url(f"**/messages/{message.pk}/")
    expect(page.locator("main")).to_contain_text(
        "Recipient refused — nobody@example.com: 550 5.1.1 Mailbox unavailable"
    )
    page.screenshot(path=screenshots / "outbox-detail-failed.png", full_page=True)
    page.get_by_role("button", name="Retry now").click()
    expect(page.locator(".messages")).to_contain_text("will be sent again within a minute")
    assert OutboxMessage.objects.get().state == "pending"
    assert page.console_errors == []
