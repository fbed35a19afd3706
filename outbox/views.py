"""Staff pages for the outbox: the Messages list, a message with its history, retry, the test
message, what each kind says, and the dashboard's panel."""

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from clinic.access import is_allowed
from clinic.errors import Refusal
from clinic.roles import CLINIC_ADMIN, user_roles

from .forms import OutboxFilterForm, TestMessageForm
from .kinds import html_part, registered_kinds
from .models import OutboxMessage
from .selectors import failed_count, message_content, outbox_list, outbox_state_counts
from .services import retry_now, send_test_message

# An e-mail's own HTML is shown in a sandboxed frame of the page: e-mail HTML needs inline styles,
# so these responses allow them and nothing else (no scripts, no requests out).
EMAIL_HTML_CSP = {"default-src": [NONE], "style-src": [UNSAFE_INLINE], "img-src": ["data:"]}
EMAIL_HTML_CSP |= {"frame-ancestors": [SELF], "sandbox": [True], "form-action": [NONE]}
EMAIL_HTML_CSP |= {name: [NONE] for name in ("script-src", "font-src", "connect-src")}


def message_list(request):
    form = OutboxFilterForm(request.GET or None)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "query": query.urlencode(), "state_counts": outbox_state_counts()}
    messages = outbox_list(form.cleaned_data if form.is_valid() else {})
    context["page"] = Paginator(messages, 50).get_page(request.GET.get("page"))
    return render(request, "outbox/message_list.html", context)


def _get(pk: int) -> OutboxMessage:
    return get_object_or_404(OutboxMessage.objects.select_related("patient"), pk=pk)


def message_detail(request, pk: int):
    message = _get(pk)
    context = {"message": message, "content": message_content(message)}
    context["events"] = message.events.select_related("user")
    # The Message-ID and key help whoever looks into a delivery with the mail provider.
    context["show_references"] = CLINIC_ADMIN in user_roles(request.user)
    return render(request, "outbox/message_detail.html", context)


@xframe_options_sameorigin
@csp_replace(EMAIL_HTML_CSP)
def email_html(request, pk: int | None = None, kind: str = ""):
    """The HTML part for the frame: of a message (`pk`), or of a kind's sample."""
    if pk is not None:
        html = message_content(_get(pk)).get("html")
    elif (found := registered_kinds().get(kind)) and found.sample:
        html = html_part(found.sample())
    else:
        raise Http404("No such kind of message.")
    return HttpResponse(html or "", content_type="text/html; charset=utf-8")


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


def dashboard_panel(request) -> str:
    """E-mails that could not be delivered: failures are shown to staff, never only logged."""
    if not (failed := is_allowed(request.user, "clinic:outbox_list") and failed_count()):
        return ""
    return render_to_string("outbox/_dashboard_panel.html", {"failed": failed}, request=request)
