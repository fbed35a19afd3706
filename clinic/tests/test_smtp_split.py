"""`clinic.smtp_split.Delivery` against a real SMTP server (aiosmtpd): the same exchange as Django's
SMTP backend, in steps."""

import re
import smtplib

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from clinic import smtp_split

BODY = "Line one\n.hidden line\n..two dots\nlast, no newline"


def email(subject="Hello", to=("ana@example.com",)):
    message = EmailMultiAlternatives(subject, BODY, "Clínica <clinic@example.com>", list(to))
    message.attach_alternative("<p>Olá, Inês</p>", "text/html")
    message.extra_headers = {"Message-ID": f"<{subject}@mesoclinic>", "Date": "Thu, 26 Nov 2026 06:00 +0000"}
    return message


def deliver(backend, message):
    delivery = smtp_split.Delivery(backend, message)
    delivery.envelope()
    delivery.send_data()
    delivery.finish()


@pytest.fixture
def backend(smtp_server):
    connection = get_connection()
    connection.open()
    yield connection
    connection.close()


def test_only_djangos_own_smtp_backend_is_sent_in_steps(settings):
    class OwnSend(SMTPBackend):
        def _send(self, email_message):
            return super()._send(email_message)

    class SameSend(SMTPBackend):
        pass

    assert smtp_split.supports(SMTPBackend())
    assert smtp_split.supports(SameSend())
    assert not smtp_split.supports(OwnSend())
    assert not smtp_split.supports(LocmemBackend())


def test_the_server_receives_the_same_bytes_as_from_djangos_send(smtp_server, backend):
    backend.send_messages([email("whole")])
    deliver(backend, email("steps"))
    # The same bytes, but for the subject and the MIME boundaries (random in each message).
    whole, steps = (re.sub(rb"={15}\d+==", b"BOUNDARY", e.original_content) for e in smtp_server.envelopes)
    assert b"BOUNDARY" in whole and b"\r\n..hidden line" not in whole
    assert steps == whole.replace(b"whole", b"steps")
    envelope = smtp_server.envelopes[1]
    assert (envelope.mail_from, envelope.rcpt_tos) == ("clinic@example.com", ["ana@example.com"])
    body = smtp_server.messages[1].get_body(("plain",)).get_content()
    assert ".hidden line\n..two dots\n" in body.replace("\r\n", "\n")  # dot-stuffed on the wire, not here


def test_several_messages_in_a_row_over_one_connection(smtp_server, backend):
    for n in range(3):
        deliver(backend, email(f"n{n}"))
    assert [m["Subject"] for m in smtp_server.messages] == ["n0", "n1", "n2"]


def test_a_refused_recipient_raises_before_anything_is_sent_and_the_connection_goes_on(smtp_server, backend):
    smtp_server.refuse("nobody@example.com")
    delivery = smtp_split.Delivery(backend, email(to=["nobody@example.com"]))
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        delivery.envelope()
    assert refused.value.recipients == {"nobody@example.com": (550, b"5.1.1 Mailbox unavailable")}
    deliver(backend, email("after"))
    assert [m["Subject"] for m in smtp_server.messages] == ["after"]


def test_one_refused_recipient_of_two_still_gets_the_message_to_the_other(smtp_server, backend):
    smtp_server.refuse("nobody@example.com")
    deliver(backend, email(to=["nobody@example.com", "ana@example.com"]))
    assert smtp_server.envelopes[0].rcpt_tos == ["ana@example.com"]


def test_data_refused_at_the_end_raises_from_finish(smtp_server, backend):
    smtp_server.fail_next(1, "554 5.6.0 Message rejected")
    delivery = smtp_split.Delivery(backend, email("refused"))
    delivery.envelope()
    delivery.send_data()  # does not wait for the answer
    with pytest.raises(smtplib.SMTPDataError) as refused:
        delivery.finish()
    assert (refused.value.smtp_code, refused.value.smtp_error) == (554, b"5.6.0 Message rejected")
    deliver(backend, email("next"))  # the transaction was reset; the connection goes on
    assert [m["Subject"] for m in smtp_server.messages] == ["next"]


def test_an_aborted_envelope_delivers_nothing(smtp_server, backend):
    delivery = smtp_split.Delivery(backend, email("dropped"))
    delivery.envelope()
    delivery.abort()
    deliver(backend, email("kept"))
    assert [m["Subject"] for m in smtp_server.messages] == ["kept"]


def test_a_message_without_recipients_is_refused(backend):
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        smtp_split.Delivery(backend, email(to=[]))
