"""E-mails as template trios: `emails/<kind>_subject.txt`, `emails/<kind>.txt`, `emails/<kind>.html`.

Every message carries the clinic's name and contact (the shared footers `emails/_footer.txt` and
`emails/_footer.html`, fed from ClinicSettings).
"""

from collections.abc import Iterable
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .models import ClinicSettings


def sender_domain() -> str:
    """The domain of the clinic's sender address, for Message-IDs and calendar UIDs."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "mesoclinic.invalid"


def render_email(
    template: str,
    context: dict,
    *,
    to: list[str] | None = None,
    attachments: Iterable[tuple[str, bytes | str, str]] = (),
    reply_to: list[str] | None = None,
) -> EmailMultiAlternatives:
    """The e-mail rendered from the trio named `template`, with a plain-text and an HTML part.

    `attachments` are (filename, content, mimetype), e.g. an .ics. Replies go to the clinic's own
    address unless `reply_to` says otherwise.
    """
    clinic = ClinicSettings.load()
    context = {"clinic": clinic, "site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to or [],
        reply_to=reply_to if reply_to is not None else ([clinic.email] if clinic.email else []),
    )
    email.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        email.attach(filename, content, mimetype)
    return email
