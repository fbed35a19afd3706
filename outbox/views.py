"""Staff pages for the outbox: the Messages list, a message with its history, retry, test message."""

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from clinic.errors import Refusal
from clinic.roles import CLINIC_ADMIN, user_roles

from .forms import OutboxFilterForm, TestMessageForm
from .kinds import build_email, html_part, kind_label, registered_kinds
from .models import OutboxMessage
from .selectors import outbox_detail, outbox_events, outbox_list, outbox_state_counts
from .services import retry_now, send_test_message

PAGE_SIZE = 50


def message_list(request):
    form = OutboxFilterForm(request.GET or None)
    page = Paginator(outbox_list(form.filters()), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    for message in page.object_list:
        message.kind_label = kind_label(message.kind)
    counts = outbox_state_counts()
    return render(
        request,
        "outbox/message_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "state_counts": [
                (value, label, counts.get(value, 0)) for value, label in OutboxMessage.State.choices
            ],
            "test_form": TestMessageForm(),
        },
    )


def _get(pk: int) -> OutboxMessage:
    try:
        return outbox_detail(pk)
    except OutboxMessage.DoesNotExist:
        raise Http404("No such message.") from None


def _content(message: OutboxMessage) -> dict:
    """What the message says: the snapshot once sent, otherwise what it would say if sent now."""
    if message.state == OutboxMessage.State.SENT:
        return {
            "subject": message.subject,
            "text": message.body_text,
            "html": message.body_html,
            "live": False,
        }
    try:
        email = build_email(message)
    except Exception as exc:  # show the builder's problem to staff instead of a 500
        return {"error": f"The message cannot be rendered now: {exc}"}
    if email is None:
        return {"error": "This message would not be sent now: what it was about is no longer valid."}
    return {
        "subject": email.subject,
        "text": email.body,
        "html": html_part(email),
        "live": True,
        "to": email.to,
    }


def message_detail(request, pk: int):
    message = _get(pk)
    return render(
        request,
        "outbox/message_detail.html",
        {
            "message": message,
            "kind_label": kind_label(message.kind),
            "content": _content(message),
            "events": outbox_events(message),
            # The Message-ID and key help whoever looks into a delivery with the mail provider.
            "show_references": CLINIC_ADMIN in user_roles(request.user),
        },
    )


# The e-mail's own HTML, shown in a sandboxed frame of the detail page: e-mail HTML needs inline
# styles, so this one response allows them and nothing else (no scripts, no requests out).
EMAIL_HTML_CSP = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": ["data:"],
    "frame-ancestors": [SELF],
    "sandbox": [True],
    "script-src": [NONE],
    "font-src": [NONE],
    "connect-src": [NONE],
    "form-action": [NONE],
}


@xframe_options_sameorigin
@csp_replace(EMAIL_HTML_CSP)
def message_body(request, pk: int):
    content = _content(_get(pk))
    return HttpResponse(content.get("html") or "", content_type="text/html; charset=utf-8")


@require_POST
def message_retry(request, pk: int):
    message = _get(pk)
    try:
        retry_now(message_id=message.pk, user=request.user)
    except Refusal as exc:
        flash.error(request, str(exc))
    else:
        flash.success(request, f"The message to {message.recipient} will be sent again within a minute.")
    return redirect("clinic:outbox_detail", pk=message.pk)


@require_POST
def message_test(request):
    form = TestMessageForm(request.POST)
    if not form.is_valid():
        flash.error(request, "Give a valid e-mail address for the test message.")
        return redirect("clinic:outbox_list")
    message = send_test_message(recipient=form.cleaned_data["recipient"], user=request.user)
    flash.success(request, f"Test message queued for {message.recipient}; it goes out within a minute.")
    return redirect("clinic:outbox_detail", pk=message.pk)


def email_templates(request):
    """Read-only: each kind of e-mail patients receive, rendered from made-up data."""
    samples = []
    for name, kind in sorted(registered_kinds().items(), key=lambda item: item[1].label):
        if kind.sample is None:
            continue
        email = kind.sample()
        samples.append({"kind": name, "label": kind.label, "subject": email.subject, "text": email.body})
    return render(request, "outbox/email_templates.html", {"samples": samples})


@xframe_options_sameorigin
@csp_replace(EMAIL_HTML_CSP)
def email_template_html(request, kind: str):
    found = registered_kinds().get(kind)
    if found is None or found.sample is None:
        raise Http404("No such kind of message.")
    return HttpResponse(html_part(found.sample()), content_type="text/html; charset=utf-8")
