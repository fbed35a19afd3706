"""One e-mail's SMTP transaction in steps, so that the outbox can work while the server answers.

Django's SMTP backend sends a message with `smtplib.SMTP.sendmail()`: MAIL FROM, RCPT TO, DATA,
the message, then it waits for the server to accept it. `Delivery` makes the same exchange (the
same addresses and bytes as `EmailBackend._send()`, the same checks and errors as `sendmail()`) in
three steps over the backend's open connection:

1. `envelope()`: MAIL FROM and RCPT TO. Nothing is delivered yet; `abort()` (RSET) drops it.
2. `send_data()`: DATA and the message, without waiting for the server's answer.
3. `finish()`: the server's answer. Only a 250 here means the message was accepted.

Between 2 and 3 the outbox builds the next e-mail; the previous row's mark commits while 1 runs,
and the outbox waits for that commit before 2 (clinic/outbox.py, `_Batch`). Each wait the server
makes is used for work the outbox must do anyway (figure 5), and no e-mail's data goes before the
previous one is durably marked sent.
"""

from __future__ import annotations

import contextlib
import re
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import sanitize_address

_LINE_STARTING_WITH_A_DOT = re.compile(rb"(?m)^\.")


def supports(backend) -> bool:
    """Whether `backend` sends as Django's own SMTP backend does (a subclass may send otherwise)."""
    return isinstance(backend, EmailBackend) and type(backend)._send is EmailBackend._send


class Delivery:
    """One e-mail over `backend`'s open connection (`backend.open()` first)."""

    def __init__(self, backend: EmailBackend, email: EmailMessage):
        # As EmailBackend._send() does.
        encoding = email.encoding or settings.DEFAULT_CHARSET
        self.smtp: smtplib.SMTP = backend.connection
        self.from_addr = sanitize_address(email.from_email, encoding)
        self.to_addrs = [sanitize_address(address, encoding) for address in email.recipients()]
        self.payload = email.message().as_bytes(linesep="\r\n")
        if not self.to_addrs:
            raise smtplib.SMTPRecipientsRefused({})

    def envelope(self) -> None:
        """MAIL FROM and RCPT TO, as `sendmail()` makes them (raising its errors)."""
        smtp = self.smtp
        smtp.ehlo_or_helo_if_needed()
        options = [f"size={len(self.payload)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
        code, response = smtp.mail(self.from_addr, options)
        if code != 250:
            self._give_up(code)
            raise smtplib.SMTPSenderRefused(code, response, self.from_addr)
        refused = {}
        for address in self.to_addrs:
            code, response = smtp.rcpt(address)
            if code not in (250, 251):
                refused[address] = (code, response)
            if code == 421:
                smtp.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(self.to_addrs):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused(refused)

    def send_data(self) -> None:
        """DATA and the message (dot-stuffed, as `SMTP.data()` does), without reading the answer."""
        smtp = self.smtp
        smtp.putcmd("data")
        code, response = smtp.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, response)
        data = _LINE_STARTING_WITH_A_DOT.sub(b"..", self.payload)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        smtp.send(data + b".\r\n")

    def finish(self) -> None:
        """The server's answer to the message: returns once it has accepted it, or raises."""
        code, response = self.smtp.getreply()
        if code != 250:
            self._give_up(code)
            raise smtplib.SMTPDataError(code, response)

    def abort(self) -> None:
        """Drop the transaction begun by `envelope()` (nothing was delivered)."""
        self.smtp.rset()

    def _give_up(self, code: int) -> None:
        """As `sendmail()` does after a refusal: hang up on 421, else reset (if the server is there)."""
        if code == 421:
            self.smtp.close()
        else:
            with contextlib.suppress(smtplib.SMTPServerDisconnected):
                self.smtp.rset()
