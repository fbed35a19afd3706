"""Thin views over consents/services.py and selectors.py. Access is decided by the table in access.py."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clinic.access import is_allowed
from clinic.audit import log_clinical_read
from clinic.errors import Refusal, show_refusal
from patients.models import Patient

from . import selectors, services
from .documents import consent_context, consent_pdf, pdf_filename
from .forms import ConsentTemplateForm, ReasonForm, SignConsentForm
from .models import ConsentTemplate, PatientConsent


def template_list(request):
    return render(
        request,
        "consents/template_list.html",
        {
            "versions": selectors.template_versions(),
            "can_write": is_allowed(request.user, "consents:template_new", "POST"),
        },
    )


def template_new(request):
    current = selectors.current_template()
    initial = (
        {"title": current.title, "text": current.text, "statements": current.statements} if current else {}
    )
    form = ConsentTemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.publish_consent_template(by=request.user, **form.cleaned_data)
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, f"Version {template.version} saved: patients sign it from now on.")
            return redirect("consents:template_detail", pk=template.pk)
    return render(request, "consents/template_form.html", {"form": form, "current": current})


def template_detail(request, pk: int):
    template = get_object_or_404(ConsentTemplate.objects.select_related("created_by"), pk=pk)
    return render(
        request,
        "consents/template_detail.html",
        {"template": template, "signed_count": template.signed_consents.count()},
    )


def patient_consents(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    consents = list(selectors.patient_consents(patient))
    valid = selectors.valid_consent(patient.pk)
    return render(
        request,
        "consents/patient_consents.html",
        {
            "patient": patient,
            "consents": consents,
            "valid": valid,
            "expires_on": selectors.expires_on(valid) if valid else None,
            "can_sign": is_allowed(request.user, "consents:sign", "POST") and patient.archived_at is None,
        },
    )


@never_cache
def sign(request, patient_id: int):
    """The tablet page: the patient reads, ticks each statement, answers the photo questions and signs;
    the practitioner countersigns (static/js/consents.js fills the signature fields)."""
    patient = get_object_or_404(Patient, pk=patient_id)
    template = selectors.current_template()
    if template is None:
        raise Http404("No consent wording yet.")
    form = SignConsentForm(
        request.POST or None, statements=template.statement_list, initial={"patient_name": patient.full_name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            if str(template.pk) != request.POST.get("template", ""):
                raise Refusal(
                    "The consent wording changed while this page was open: reload the page and read the new "
                    "version with the patient."
                )
            consent = services.sign_consent(
                patient=patient,
                template=template,
                by=request.user,
                patient_name=form.cleaned_data["patient_name"],
                statements_ticked=form.ticked(),
                patient_signature=form.cleaned_data["patient_signature"],
                practitioner_signature=form.cleaned_data["practitioner_signature"],
                device=request.headers.get("User-Agent", ""),
                **form.answers(),
            )
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, "Consent signed and countersigned.")
            return redirect("consents:detail", pk=consent.pk)
    return render(request, "consents/sign.html", {"patient": patient, "template": template, "form": form})


def _consent(pk: int) -> PatientConsent:
    return get_object_or_404(
        PatientConsent.objects.select_related("patient", "practitioner", "withdrawn_by", "template"), pk=pk
    )


def detail(request, pk: int):
    consent = _consent(pk)
    log_clinical_read(request, patient=consent.patient, what="consent", obj=consent)
    can_write = is_allowed(request.user, "consents:withdraw", "POST")
    return render(
        request,
        "consents/detail.html",
        {
            "consent": consent,
            "patient": consent.patient,
            "can_write": can_write,
            "reason_form": ReasonForm(),
            "text_intact": consent.text_matches(),
        },
    )


@never_cache
def signature(request, pk: int, who: str):
    consent = _consent(pk)
    field = {"patient": consent.patient_signature, "practitioner": consent.practitioner_signature}.get(who)
    if field is None:
        raise Http404("No such signature.")
    log_clinical_read(request, patient=consent.patient, what="consent", obj=consent)
    response = FileResponse(field.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
def pdf(request, pk: int):
    consent = _consent(pk)
    log_clinical_read(request, patient=consent.patient, what="consent", obj=consent)
    if request.GET.get("print"):
        return render(request, "consents/consent_print.html", consent_context(consent))
    response = HttpResponse(consent_pdf(consent), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(consent)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def email_copy(request, pk: int):
    consent = _consent(pk)
    try:
        services.email_consent_copy(consent=consent, by=request.user)
    except Refusal as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"The PDF copy is on its way to {consent.patient.email}.")
    return redirect("consents:detail", pk=pk)


def _reason_action(request, pk: int, service, done: str):
    consent = _consent(pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            service(consent=consent, by=request.user, reason=form.cleaned_data["reason"])
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, done)
            return redirect("consents:detail", pk=pk)
    return render(
        request,
        "consents/reason_form.html",
        {"consent": consent, "patient": consent.patient, "form": form, "done": done},
    )


def withdraw(request, pk: int):
    return _reason_action(
        request, pk, services.withdraw_consent, "Consent withdrawn: no session until a new one is signed."
    )


def withdraw_photos(request, pk: int):
    return _reason_action(
        request,
        pk,
        services.withdraw_photo_consent,
        "Photo consent withdrawn: the patient's photos are now hidden.",
    )
