"""Staff pages for the outbox: the Messages list, a message with its history, retry, test message."""

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from clinic.errors import Refusal
from clinic.roles import CLINIC_ADMIN, user_roles

from .forms import OutboxFilterForm, TestMessageForm
from .kinds import html_part, registered_kinds
from .models import OutboxMessage
from .selectors import message_content, outbox_list, outbox_state_counts
from .services import retry_now, send_test_message


def message_list(request):
    form = OutboxFilterForm(request.GET or None)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "query": query.urlencode(), "test_form": TestMessageForm()}
    context["page"] = Paginator(outbox_list(form.filters()), 50).get_page(request.GET.get("page"))
    return render(request, "outbox/message_list.html", context | {"state_counts": outbox_state_counts()})


def _get(pk: int) -> OutboxMessage:
    return get_object_or_404(OutboxMessage.objects.select_related("patient"), pk=pk)


def message_detail(request, pk: int):
    message = _get(pk)
    context = {"message": message, "content": message_content(message)}
    context["events"] = message.events.select_related("user")
    # The Message-ID and key help whoever looks into a delivery with the mail provider.
    context["show_references"] = CLINIC_ADMIN in user_roles(request.user)
    return render(request, "outbox/message_detail.html", context)


# The e-mail's own HTML, shown in a sandboxed frame of the page: e-mail HTML needs inline styles,
# so these responses allow them and nothing else (no scripts, no requests out).
EMAIL_HTML_CSP = {"default-src": [NONE], "style-src": [UNSAFE_INLINE], "img-src": ["data:"]}
EMAIL_HTML_CSP |= {"frame-ancestors": [SELF], "sandbox": [True], "form-action": [NONE]}
EMAIL_HTML_CSP |= {name: [NONE] for name in ("script-src", "font-src", "connect-src")}


def _email_html(html: str) -> HttpResponse:
    return HttpResponse(html, content_type="text/html; charset=utf-8")


@xframe_options_sameorigin
@csp_replace(EMAIL_HTML_CSP)
def message_body(request, pk: int):
    return _email_html(message_content(_get(pk)).get("html") or "")


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
    samples = [(name, kind.label, kind.sample()) for name, kind in registered_kinds().items() if kind.sample]
    return render(request, "outbox/email_templates.html", {"samples": samples})


@xframe_options_sameorigin
@csp_replace(EMAIL_HTML_CSP)
def email_template_html(request, kind: str):
    found = registered_kinds().get(kind)
    if found is None or found.sample is None:
        raise Http404("No such kind of message.")
    return _email_html(html_part(found.sample()))
