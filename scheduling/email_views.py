"""Public pages behind the links in patients' e-mails: confirm, cancel, unsubscribe.

No login (PUBLIC in scheduling/access.py): the signed token is the permission. GET only shows the
page with one button, because mail scanners open links; the POST acts. Every problem (tampered,
expired, moved, already used) is a page that says what happened and what to do — never a 500.
"""

from django.db import transaction
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from clinic.errors import Refusal
from clinic.models import ClinicSettings

from . import email_links, services
from .availability import when
from .models import AppointmentState

PATIENT_CANCEL_REASON = "Cancelled by the patient by e-mail link"

DONE_STATES = {
    AppointmentState.ARRIVED: "You are already at the clinic for this appointment.",
    AppointmentState.COMPLETED: "This appointment has already taken place.",
    AppointmentState.NO_SHOW: "This appointment has already passed.",
}


def _page(
    request,
    *,
    title: str,
    message: str = "",
    appointment=None,
    button: str = "",
    status: int = 200,
    tone: str = "info",
):
    return render(
        request,
        "scheduling/email_link.html",
        {
            "title": title,
            "message": message,
            "appointment": appointment,
            "when": when(appointment.starts_at) if appointment else "",
            "button": button,
            "tone": tone,
            "clinic": ClinicSettings.for_request(request),
        },
        status=status,
    )


def _problem(request, problem: email_links.LinkProblem):
    status = 410 if "expired" in problem.title else 400
    return _page(request, title=problem.title, message=problem.message, status=status, tone="warning")


def _stale(request, appointment):
    if appointment.state == AppointmentState.CANCELLED:
        return _page(
            request,
            title="This appointment was cancelled",
            message="Nothing else to do. Call the clinic if you would like another time.",
            appointment=appointment,
        )
    return _page(
        request,
        title="Your appointment has changed",
        message=(
            "This e-mail was about an earlier time. "
            f"Your appointment is now on {when(appointment.starts_at)}: "
            "use the links in the newest e-mail from the clinic, or call us."
        ),
        tone="warning",
        status=409,
    )


@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    try:
        target = email_links.read_appointment_token(token, email_links.CONFIRM)
    except email_links.LinkProblem as problem:
        return _problem(request, problem)
    appointment = target.appointment
    if not target.current:
        return _stale(request, appointment)
    if appointment.state == AppointmentState.CONFIRMED:
        return _page(
            request,
            title="Already confirmed",
            message="This link was already used: your appointment is confirmed. See you then.",
            appointment=appointment,
            tone="success",
        )
    if appointment.state == AppointmentState.CANCELLED:
        return _stale(request, appointment)
    if appointment.state in DONE_STATES:
        return _page(request, title="Nothing to confirm", message=DONE_STATES[appointment.state])
    if request.method == "POST":
        try:
            with transaction.atomic():
                if not target.lock() or target.appointment.state != AppointmentState.BOOKED:
                    return confirm(request, token)  # changed meanwhile: GET-like answer, nothing done
                services.confirm_appointment(appointment=target.appointment, by=None)
        except Refusal as exc:
            return _page(request, title="We could not confirm", message=str(exc), tone="warning", status=409)
        return _page(
            request,
            title="Thank you: your appointment is confirmed",
            message="We look forward to seeing you.",
            appointment=appointment,
            tone="success",
        )
    return _page(
        request,
        title="Confirm your appointment",
        message="Press the button to tell the clinic you will come.",
        appointment=appointment,
        button="Confirm I will come",
    )


@require_http_methods(["GET", "POST"])
def cancel(request, token: str):
    try:
        target = email_links.read_appointment_token(token, email_links.CANCEL)
    except email_links.LinkProblem as problem:
        return _problem(request, problem)
    appointment = target.appointment
    if appointment.state == AppointmentState.CANCELLED:
        return _page(
            request,
            title="Already cancelled",
            message="This appointment is already cancelled: this link was used, or the clinic cancelled it. "
            "Call the clinic if you would like another time.",
            appointment=appointment,
        )
    if not target.current:
        return _stale(request, appointment)
    if appointment.state in DONE_STATES:
        return _page(request, title="Nothing to cancel", message=DONE_STATES[appointment.state])
    if request.method == "POST":
        try:
            with transaction.atomic():
                if not target.lock() or not target.appointment.is_upcoming:
                    return cancel(request, token)  # changed meanwhile: GET-like answer, nothing done
                services.cancel_appointment(
                    appointment=target.appointment, reason=PATIENT_CANCEL_REASON, by=None
                )
        except Refusal as exc:
            return _page(request, title="We could not cancel", message=str(exc), tone="warning", status=409)
        return _page(
            request,
            title="Your appointment is cancelled",
            message="Thank you for letting us know: the time is free for someone else. "
            "Call the clinic when you would like to book again.",
            appointment=appointment,
            tone="success",
        )
    return _page(
        request,
        title="Cancel your appointment?",
        message="If you cannot come, press the button: the clinic is told at once and the time is freed.",
        appointment=appointment,
        button="Cancel my appointment",
    )


# Mail programs send the one-click unsubscribe (RFC 8058) as a POST without our CSRF cookie; the
# signed token in the URL is what authorises it.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    from patients.services import update_patient

    try:
        patient = email_links.read_unsubscribe_token(token)
    except email_links.LinkProblem as problem:
        return _problem(request, problem)
    if not patient.email_consent:
        return _page(
            request,
            title="You will not receive e-mails",
            message="E-mails from the clinic are already stopped. "
            "To receive reminders again, tell the clinic.",
            tone="success",
        )
    if request.method == "POST":
        patient._change_reason = "The patient (unsubscribe link in an e-mail)"
        update_patient(patient=patient, by=None, email_consent=False)
        return _page(
            request,
            title="E-mails stopped",
            message="You will no longer receive reminders or other e-mails from the clinic. "
            "To receive them again, tell the clinic.",
            tone="success",
        )
    return _page(
        request,
        title="Stop e-mails from the clinic?",
        message="You will no longer receive appointment reminders or aftercare e-mails.",
        button="Stop e-mails",
    )
