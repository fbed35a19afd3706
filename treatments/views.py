"""Thin views over services.py and selectors.py. Access is decided by the table in access.py."""

import datetime

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import is_allowed
from clinic.audit import log_clinical_read
from clinic.errors import Refusal, show_refusal
from patients.models import Contraindication, Patient
from patients.services import screening_for
from scheduling.models import Appointment
from scheduling.planner import interval_for_cadence

from . import selectors, services
from .forms import AddendumForm, ConsultationForm, FormulationForm, LineFormSet, SessionRecordForm
from .models import Consultation, Formulation, Ingredient, SessionRecord
from .services import LineInput


def _can_write(request, url_name: str) -> bool:
    return is_allowed(request.user, url_name, "POST")


# ---------------------------------------------------------------- catalogue


def ingredient_list(request):
    """The ingredient catalogue, read-only (clinic admin manages it under Administration)."""
    ingredients = selectors.ingredient_list()
    return render(request, "treatments/ingredient_list.html", {"ingredients": ingredients})


# ---------------------------------------------------------------- timeline


def timeline(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    try:
        before = datetime.date.fromisoformat(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None  # a mangled link shows the newest entries
    page = selectors.timeline(patient, before=before)
    log_clinical_read(request, patient=patient, what="timeline")
    header = selectors.timeline_header(patient, page, first_page=before is None)
    # Each version links to the diff against the one before it (a query only when that one is older
    # than the page).
    shown = [e for e in page.entries if e["kind"] == "formulation"]
    ids = {e["object"].version: e["object"].pk for e in shown}
    ids |= selectors.formulation_ids(patient, {e["object"].version - 1 for e in shown} - set(ids) - {0})
    for entry in shown:
        entry["before"] = ids.get(entry["object"].version - 1)
    return render(
        request,
        "treatments/timeline.html",
        {
            "patient": patient,
            "entries": page.entries,
            "older": page.older,
            "before": before,
            "latest_formulation": header["latest_formulation"],
            # The service's own rule: only from the latest signed consultation, if it found eligible.
            "eligible": header["formulate_from"],
            "can_write": _can_write(request, "treatments:consultation_create"),
        },
    )


# ---------------------------------------------------------------- consultations


def _protocol(patient, day, consultation=None) -> tuple[dict, dict]:
    """The band for the patient's age on the consultation date (rules `band-proposes-practitioner-decides`,
    `age-banded-schedule`, `band-edges`, `no-band-no-default` in docs/clinical-rules.md), and the plan
    fields it pre-fills when the practitioner has not chosen them yet: the band's maximum count and its
    cadence."""
    age, band = services.plan_protocol(patient, day)
    initial = {}
    if band is not None:
        if consultation is None or not consultation.plan_session_count:
            initial["plan_session_count"] = band.max_sessions
        if consultation is None or not consultation.plan_interval_days:
            initial["plan_interval_days"] = interval_for_cadence(band.sessions_per_period, band.period_days)
    return {"age": age, "band": band}, initial


def consultation_create(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    answers = services.screening_answers(patient)
    today = timezone.localdate()
    protocol, plan_initial = _protocol(patient, today)
    form = ConsultationForm(request.POST or None, answers=answers, initial={"date": today, **plan_initial})
    if request.method == "POST" and form.is_valid():
        try:
            consultation = services.start_consultation(
                patient=patient, by=request.user, answers=form.answers(), **form.fields_for_service()
            )
        except Refusal as error:
            show_refusal(form, error)
        else:
            messages.success(request, "Consultation saved as a draft. Sign it when it is complete.")
            return redirect("treatments:consultation_detail", pk=consultation.pk)
    return render(
        request,
        "treatments/consultation_form.html",
        {"form": form, "patient": patient, "screening": screening_for(patient), "protocol": protocol},
    )


def consultation_detail(request, pk: int):
    consultation = selectors.consultation_detail(pk)
    log_clinical_read(request, patient=consultation.patient, what="consultation", obj=consultation)
    order = {item: n for n, item in enumerate(Contraindication.values)}
    answers = sorted(consultation.answers.all(), key=lambda a: order.get(a.item, len(order)))
    return render(
        request,
        "treatments/consultation_detail.html",
        {
            "consultation": consultation,
            "patient": consultation.patient,
            "answers": answers,
            "addendum_form": AddendumForm(),
            "can_write": _can_write(request, "treatments:consultation_edit"),
            "formulations": consultation.formulations.order_by("-version"),
            "formulate_here": _formulate_here(consultation),
        },
    )


def _formulate_here(consultation) -> bool:
    """Whether a formulation may follow from this consultation: it is the patient's latest signed one
    and found them eligible (what create_formulation accepts; a query only for a signed "eligible")."""
    if not (consultation.is_signed and consultation.is_eligible):
        return False
    formulate_from = selectors.consultation_to_formulate_from(consultation.patient)
    return formulate_from is not None and formulate_from.pk == consultation.pk


def consultation_edit(request, pk: int):
    consultation = get_object_or_404(Consultation.objects.select_related("patient"), pk=pk)
    if consultation.is_signed:
        messages.info(request, "This consultation is signed and cannot be edited. Add an addendum instead.")
        return redirect("treatments:consultation_detail", pk=pk)
    if request.method == "GET":
        log_clinical_read(request, patient=consultation.patient, what="consultation", obj=consultation)
    answers = {a.item: a.answer for a in consultation.answers.all()}
    protocol, plan_initial = _protocol(consultation.patient, consultation.date, consultation)
    form = ConsultationForm(
        request.POST or None, instance=consultation, answers=answers, initial=plan_initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_consultation(
                consultation=consultation,
                by=request.user,
                answers=form.answers(),
                **form.fields_for_service(),
            )
        except Refusal as error:
            show_refusal(form, error)
        else:
            messages.success(request, "Consultation saved.")
            return redirect("treatments:consultation_detail", pk=pk)
    return render(
        request,
        "treatments/consultation_form.html",
        {"form": form, "patient": consultation.patient, "consultation": consultation, "protocol": protocol},
    )


def consultation_sign(request, pk: int):
    consultation = get_object_or_404(Consultation, pk=pk)
    if request.method != "POST":
        return redirect("treatments:consultation_detail", pk=pk)
    try:
        services.sign_consultation(consultation=consultation, by=request.user)
    except Refusal as error:
        messages.error(request, error.message)
        if not consultation.is_signed:
            return redirect("treatments:consultation_edit", pk=pk)
    else:
        messages.success(
            request, "Consultation signed. It can no longer be edited; add addenda to correct it."
        )
    return redirect("treatments:consultation_detail", pk=pk)


def addendum_add(request, pk: int):
    consultation = get_object_or_404(Consultation, pk=pk)
    if request.method != "POST":
        return redirect("treatments:consultation_detail", pk=pk)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.add_addendum(consultation=consultation, by=request.user, text=form.cleaned_data["text"])
        except Refusal as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Addendum added.")
    else:
        messages.error(request, "Write the addendum text (at most 5000 characters).")
    return redirect("treatments:consultation_detail", pk=pk)


# ---------------------------------------------------------------- formulations


def _line_inputs(formset) -> list[LineInput]:
    return [
        LineInput(
            ingredient=f.cleaned_data["ingredient"],
            amount=f.cleaned_data["amount"],
            override_reason=f.cleaned_data.get("override_reason") or "",
        )
        for f in formset.forms
        if f.cleaned_data.get("ingredient")
    ]


def _formulation_page(request, *, patient, consultation, previous=None):
    ingredients = Ingredient.objects.active().select_related("allergen_group")
    if previous is not None:
        initial_form = {
            "concerns": previous.concerns,
            "total_volume_ml": previous.total_volume_ml,
            "vehicle": previous.vehicle,
            "notes": previous.notes,
        }
        initial_lines = [
            {
                "ingredient": line.ingredient_id,
                "amount": line.amount.normalize(),
                "override_reason": line.override_reason,
            }
            for line in previous.lines.all()
        ]
    else:
        initial_form = {
            "concerns": [c for c in consultation.concerns if c != "other"],
            "vehicle": "Sterile saline 0.9%",
        }
        initial_lines = []
    extra = 3 if initial_lines else 5
    allergies = list(screening_for(patient).allergen_groups.all())
    form = FormulationForm(request.POST or None, initial=initial_form)
    formset = LineFormSet(
        request.POST or None,
        prefix="lines",
        initial=initial_lines + [{}] * extra,
        ingredients=ingredients,
        allergies={g.pk for g in allergies},
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            formulation = services.create_formulation(
                consultation=consultation,
                by=request.user,
                lines=_line_inputs(formset),
                previous=previous,
                **form.cleaned_data,
            )
        except Refusal as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"Formulation v{formulation.version} saved.")
            return redirect("treatments:formulation_detail", pk=formulation.pk)
    return render(
        request,
        "treatments/formulation_form.html",
        {
            "form": form,
            "formset": formset,
            "patient": patient,
            "consultation": consultation,
            "previous": previous,
            "allergies": allergies,
        },
    )


def formulation_create(request, consultation_id: int):
    consultation = get_object_or_404(Consultation.objects.select_related("patient"), pk=consultation_id)
    if not _formulate_here(consultation):
        messages.error(
            request,
            "A formulation follows from the patient's latest signed consultation, "
            "when it found the patient eligible.",
        )
        return redirect("treatments:consultation_detail", pk=consultation.pk)
    return _formulation_page(request, patient=consultation.patient, consultation=consultation)


def formulation_revise(request, pk: int):
    """A change to a formulation is a new version, pre-filled from this one."""
    previous = selectors.formulation_detail(pk)
    consultation = selectors.consultation_to_formulate_from(previous.patient)
    if consultation is None:
        messages.error(
            request,
            "A new version follows from the patient's latest signed consultation, "
            "when it found the patient eligible. Hold a new consultation first.",
        )
        return redirect("treatments:formulation_detail", pk=previous.pk)
    return _formulation_page(request, patient=previous.patient, consultation=consultation, previous=previous)


def formulation_detail(request, pk: int):
    """The formulation sheet: also the printable sheet for the treatment room (print stylesheet)."""
    formulation = selectors.formulation_detail(pk)
    log_clinical_read(request, patient=formulation.patient, what="formulation", obj=formulation)
    sessions = formulation.session_records.select_related("practitioner").order_by("-performed_at")
    versions = (
        Formulation.objects.filter(patient=formulation.patient).order_by("-version").only("pk", "version")
    )
    return render(
        request,
        "treatments/formulation_detail.html",
        {
            "formulation": formulation,
            "patient": formulation.patient,
            "sessions": sessions,
            "versions": versions,
            "allergies": list(screening_for(formulation.patient).allergen_groups.all()),
            "can_write": _can_write(request, "treatments:formulation_revise"),
            # Offered only when formulation_revise would accept it.
            "can_revise": selectors.consultation_to_formulate_from(formulation.patient) is not None,
        },
    )


def formulation_diff(request, pk: int, other_pk: int):
    first = selectors.formulation_detail(pk)
    second = selectors.formulation_detail(other_pk)
    if first.patient_id != second.patient_id:
        raise Http404("These versions belong to different patients.")
    old, new = sorted([first, second], key=lambda f: f.version)
    log_clinical_read(request, patient=first.patient, what="formulation", obj=new)
    versions = Formulation.objects.filter(patient=first.patient).order_by("-version").only("pk", "version")
    return render(
        request,
        "treatments/formulation_diff.html",
        {
            "old": old,
            "new": new,
            "diff": services.formulation_diff(old, new),
            "patient": first.patient,
            "versions": versions,
        },
    )


# ---------------------------------------------------------------- session records


def _session_page(request, *, formulation, appointment=None):
    """The form that starts a session record, pre-filled from the plan, the formulation and, for a
    booked session, the appointment (its start time)."""
    lines = list(formulation.lines.all())
    consultation = formulation.consultation
    performed_at = appointment.starts_at if appointment is not None else timezone.now()
    initial = {
        "performed_at": timezone.localtime(performed_at).replace(second=0, microsecond=0),
        "areas": consultation.plan_areas,
        "area_other": consultation.plan_area_other,
        "needle_gauge": "32G",
        "volume_ml": formulation.total_volume_ml,
    }
    form = SessionRecordForm(request.POST or None, lines=lines, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.record_session(
                formulation=formulation,
                by=request.user,
                lots=form.lots(),
                appointment=appointment,
                **form.fields_for_service(),
            )
        except Refusal as error:
            show_refusal(form, error)
        else:
            messages.success(request, "Session recorded. Mark it done when the patient leaves.")
            return redirect("treatments:session_detail", pk=record.pk)
    return render(
        request,
        "treatments/session_form.html",
        {
            "form": form,
            "formulation": formulation,
            "patient": formulation.patient,
            "appointment": appointment,
        },
    )


def session_create(request, formulation_id: int):
    formulation = selectors.formulation_detail(formulation_id)
    return _session_page(request, formulation=formulation)


def appointment_session(request, appointment_id: int):
    """ "Record session" from a booked treatment appointment: the record is linked to it, with the
    patient's current formulation. An appointment that already has its record opens that record."""
    appointment = get_object_or_404(Appointment.objects.select_related("patient", "room"), pk=appointment_id)
    existing = SessionRecord.objects.filter(appointment=appointment).values_list("pk", flat=True).first()
    if existing:
        messages.info(request, "This appointment already has its session record.")
        return redirect("treatments:session_detail", pk=existing)
    formulation = selectors.current_formulation(appointment.patient)
    try:
        if formulation is None:
            raise Refusal(
                f"{appointment.patient.full_name} has no formulation yet: formulate the cocktail from the "
                "signed consultation first, then record the session."
            )
        services.check_appointment_for_session(appointment)
    except Refusal as error:
        messages.error(request, error.message)
        return redirect("scheduling:appointment_detail", pk=appointment.pk)
    return _session_page(request, formulation=formulation, appointment=appointment)


def session_detail(request, pk: int):
    record = selectors.session_record_detail(pk)
    log_clinical_read(request, patient=record.patient, what="session_record", obj=record)
    return render(
        request,
        "treatments/session_detail.html",
        {
            "record": record,
            "patient": record.patient,
            "can_write": _can_write(request, "treatments:session_edit"),
        },
    )


def session_edit(request, pk: int):
    record = get_object_or_404(SessionRecord.objects.select_related("patient", "formulation"), pk=pk)
    if record.is_done:
        messages.info(request, "This session is marked done and locked.")
        return redirect("treatments:session_detail", pk=pk)
    lines = list(record.formulation.lines.select_related("ingredient"))
    form = SessionRecordForm(request.POST or None, instance=record, lines=lines)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_session_record(
                session_record=record, by=request.user, lots=form.lots(), **form.fields_for_service()
            )
        except Refusal as error:
            show_refusal(form, error)
        else:
            messages.success(request, "Session record saved.")
            return redirect("treatments:session_detail", pk=pk)
    return render(
        request,
        "treatments/session_form.html",
        {"form": form, "formulation": record.formulation, "patient": record.patient, "record": record},
    )


@require_POST
def session_done(request, pk: int):
    record = get_object_or_404(SessionRecord, pk=pk)
    try:
        services.mark_session_done(session_record=record, by=request.user)
    except Refusal as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Session marked done. The aftercare e-mail is queued.")
    return redirect("treatments:session_detail", pk=pk)
