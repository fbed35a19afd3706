"""Patient pages: thin views that parse input, call one service or selector, and render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from clinic import fragments
from clinic.access import is_allowed
from clinic.audit import log_clinical_read
from clinic.errors import Refusal, show_refusal
from clinic.reauth import require_recent_auth
from clinic.roles import user_roles

from . import export, gdpr, page_cache, selectors, services
from .forms import ErasureDecisionForm, ErasureRequestForm, PatientForm, ScreeningForm
from .list_rows import rows_html
from .models import ErasureRequest, Patient
from .sections import render_sections

PAGE_SIZE = 25  # erasure requests per page


@vary_on_headers("HX-Request")
def patient_list(request):
    """The patient list and search. htmx asks for the results fragment only; without JavaScript the
    same URL answers the whole page (the search box is a plain GET form)."""
    query = request.GET.get("q", "").strip()[:200]
    include_archived = request.GET.get("archived") == "1"
    page = selectors.search_page(query, include_archived=include_archived, page=request.GET.get("page"))
    params = {"q": query} if query else {}
    if include_archived:
        params["archived"] = "1"
    context = {
        "page": page,
        "query": query,
        "include_archived": include_archived,
        "query_string": urlencode(params),
        "match_limit": f"{selectors.MATCH_LIMIT:,}",
        "rows_html": rows_html(page.rows, reverse("patients:detail", args=[0]).removesuffix("0/")),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "patients/_results.html", context)
    return render(request, "patients/list.html", context)


def _apply_service_error(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_http_methods(["GET", "POST"])
def patient_create(request):
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        duplicates = selectors.find_duplicates(
            given_name=data["given_name"],
            family_name=data["family_name"],
            date_of_birth=data["date_of_birth"],
        )
        if not _ask_about_duplicates(form, duplicates):
            try:
                patient = services.register_patient(by=request.user, **form.patient_fields())
            except ValidationError as error:
                _apply_service_error(form, error)
            else:
                messages.success(
                    request, f"{patient.full_name} registered with chart number {patient.chart_number}."
                )
                return redirect("patients:detail", pk=patient.pk)
    form.focus_first_error()
    return render(request, "patients/form.html", {"form": form, "patient": None})


def _ask_about_duplicates(form, duplicates) -> bool:
    """Show the possible duplicates and ask to confirm, unless the user already has: True when the
    form goes back to the user."""
    if duplicates and not form.cleaned_data["not_a_duplicate"]:
        form.duplicates = duplicates
        form.add_error(
            "not_a_duplicate",
            "Open the existing record above, or tick this box if this is a different person.",
        )
        return True
    return False


@require_http_methods(["GET", "POST"])
def patient_edit(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    if patient.is_archived:
        messages.warning(request, f"{patient.full_name} is archived. Restore the record to change it.")
        return redirect("patients:detail", pk=patient.pk)
    form = PatientForm(request.POST or None, instance=Patient.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        duplicates = []
        if {"given_name", "family_name", "date_of_birth"} & set(form.changed_data):
            duplicates = selectors.find_duplicates(
                given_name=data["given_name"],
                family_name=data["family_name"],
                date_of_birth=data["date_of_birth"],
                exclude_pk=patient.pk,
            )
        if not _ask_about_duplicates(form, duplicates):
            try:
                services.update_patient(patient=patient, by=request.user, **form.patient_fields())
            except ValidationError as error:
                _apply_service_error(form, error)
            else:
                messages.success(request, "Changes saved.")
                return redirect("patients:detail", pk=patient.pk)
    form.focus_first_error()
    return render(request, "patients/form.html", {"form": form, "patient": patient})


def _may_read_screening(request) -> bool:
    return is_allowed(request.user, "patients:screening", "GET")


def patient_detail(request, pk):
    # The page's content depends only on the patient's records, the reference data, the viewer's
    # roles and the day; it is cached under those (figure 6) and retired by any change to them. A
    # cached copy also proves the patient exists (patients are never deleted; a deletion would
    # retire it), so a hit reads no patient row at all.
    title, body = fragments.cached(
        key=("patient-page", pk, ",".join(sorted(user_roles(request.user))), timezone.localdate()),
        scopes=(page_cache.scope(pk), fragments.REFERENCE),
        render=lambda: _detail_parts(request, pk),
    )
    if is_allowed(request.user, "treatments:timeline") or _may_read_screening(request):
        # Logged on every view, cached copy or not: the page shows this role clinical sections.
        log_clinical_read(request, patient=pk, what="patient_page")
    return render(request, "patients/detail.html", {"title": title, "body": body})


def _detail_parts(request, pk: int) -> tuple[str, str]:
    patient = get_object_or_404(Patient.objects.select_related("created_by"), pk=pk)
    return patient.full_name, _detail_body(request, patient)


def _detail_body(request, patient: Patient) -> str:
    context = {
        "patient": patient,
        "history": selectors.patient_history(patient),
        "sections": render_sections(request, patient),
        "can_edit": is_allowed(request.user, "patients:edit", "POST"),
        "can_archive": is_allowed(request.user, "patients:archive", "POST"),
        "show_screening": False,
    }
    if _may_read_screening(request):
        screening = selectors.screening_detail(patient)
        context.update(
            show_screening=True,
            screening=screening,
            screening_answers=selectors.answers_by_item(screening),
            screening_history=selectors.screening_history(screening),
            can_edit_screening=is_allowed(request.user, "patients:screening", "POST"),
        )
    return render_to_string("patients/_detail_body.html", context, request=request)


@require_http_methods(["GET", "POST"])
def screening_edit(request, pk):
    """Practitioners edit the screening; clinic admin reads it (the access table says READ)."""
    patient = get_object_or_404(Patient, pk=pk)
    screening = selectors.screening_detail(patient)
    answers = {a.item: a for a in screening.answers.all()} if screening else {}
    read_only = not is_allowed(request.user, "patients:screening", "POST")
    if request.method == "GET":
        log_clinical_read(request, patient=patient, what="screening", obj=screening)
    form = ScreeningForm(request.POST or None, instance=screening, answers=answers, read_only=read_only)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_screening(
                patient=patient,
                by=request.user,
                allergen_groups=data["allergen_groups"],
                allergy_notes=data["allergy_notes"],
                current_medications=data["current_medications"],
                fitzpatrick_type=data["fitzpatrick_type"],
                answers=form.answers(),
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, "Screening saved.")
            return redirect(f"{patient.get_absolute_url()}#screening")
    return render(
        request, "patients/screening_form.html", {"form": form, "patient": patient, "read_only": read_only}
    )


def _archive_or_restore(request, pk, *, archive: bool):
    patient = get_object_or_404(Patient, pk=pk)
    if request.method == "POST":
        try:
            if archive:
                services.archive_patient(patient=patient, by=request.user)
                messages.success(
                    request,
                    f"{patient.full_name} archived. The record is kept and can be restored at any time.",
                )
            else:
                services.restore_patient(patient=patient, by=request.user)
                messages.success(request, f"{patient.full_name} restored to the patient list.")
        except Refusal as error:
            messages.info(request, str(error))
        return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/archive_confirm.html", {"patient": patient, "archive": archive})


@require_http_methods(["GET", "POST"])
def patient_archive(request, pk):
    return _archive_or_restore(request, pk, archive=True)


@require_http_methods(["GET", "POST"])
def patient_restore(request, pk):
    return _archive_or_restore(request, pk, archive=False)


# ---------------------------------------------------------------- data rights (patients/gdpr.py)


def _export(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    record = export.patient_record(patient)
    log_clinical_read(request, patient=patient, what="export")
    return patient, record


def _download(payload: dict, filename: str) -> HttpResponse:
    response = JsonResponse(payload, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_recent_auth  # an export is a bulk read of the whole record: confirm it is still you
def export_page(request, pk):
    """The patient's whole record as a readable, printable document (the access log records it)."""
    patient, record = _export(request, pk)
    # "messages" is the name of the page's notices (django.contrib.messages): the e-mails are "emails".
    context = {**record, "emails": record["messages"]}
    del context["messages"]
    return render(request, "patients/export.html", context)


@require_recent_auth  # an export is a bulk read of the whole record: confirm it is still you
def export_fhir(request, pk):
    patient, record = _export(request, pk)
    return _download(export.fhir_bundle(record), f"{patient.chart_number}-fhir.json")


@require_recent_auth  # an export is a bulk read of the whole record: confirm it is still you
def export_raw(request, pk):
    patient, record = _export(request, pk)
    return _download(export.raw_records(record), f"{patient.chart_number}-records.json")


def erasure_list(request):
    requests = ErasureRequest.objects.select_related("patient", "recorded_by", "decided_by")
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "patients/erasure_list.html", {"page": page})


@require_http_methods(["GET", "POST"])
def erasure_new(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    form = ErasureRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            erasure = gdpr.request_erasure(patient=patient, by=request.user, **form.cleaned_data)
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, "Erasure request recorded. A clinic admin decides on it.")
            return redirect("patients:erasure_detail", pk=erasure.pk)
    return render(request, "patients/erasure_form.html", {"form": form, "patient": patient})


def erasure_detail(request, pk):
    erasure = get_object_or_404(
        ErasureRequest.objects.select_related("patient", "recorded_by", "decided_by"), pk=pk
    )
    can_decide = erasure.is_pending and is_allowed(request.user, "patients:erasure_decide", "POST")
    form = ErasureDecisionForm() if can_decide else None
    return render(
        request,
        "patients/erasure_detail.html",
        {"erasure": erasure, "patient": erasure.patient, "form": form},
    )


@require_http_methods(["POST"])
@require_recent_auth  # an erasure cannot be undone: confirm it is still you
def erasure_decide(request, pk):
    erasure = get_object_or_404(ErasureRequest.objects.select_related("patient"), pk=pk)
    form = ErasureDecisionForm(request.POST)
    if form.is_valid():
        try:
            gdpr.decide_erasure(
                erasure=erasure,
                by=request.user,
                approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"],
            )
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, "Decision recorded.")
            return redirect("patients:erasure_detail", pk=erasure.pk)
    return render(
        request,
        "patients/erasure_detail.html",
        {"erasure": erasure, "patient": erasure.patient, "form": form},
        status=200,
    )
