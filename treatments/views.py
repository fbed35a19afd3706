"""Thin views over services.py and selectors.py. Access is decided by the table in access.py."""

import csv
import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import is_allowed
from clinic.audit import log_clinical_read
from clinic.errors import Refusal, show_refusal
from clinic.reauth import require_recent_auth
from clinic.staff import person
from patients.models import Contraindication, Patient
from patients.services import screening_for
from scheduling.models import Appointment
from scheduling.planner import interval_for_cadence

from . import selectors, services
from .forms import (
    AddendumForm,
    ConsultationForm,
    FormulationForm,
    InjectionMapForm,
    LineFormSet,
    RecallForm,
    ReceiveStockForm,
    SessionCorrectionForm,
    SessionRecordForm,
    parse_points,
)
from .models import (
    Consultation,
    Formulation,
    Ingredient,
    SessionLot,
    SessionRecord,
    StockLot,
)
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


@require_recent_auth  # signing is irreversible: confirm it is still you
def consultation_sign(request, pk: int):
    """Signing is irreversible: a GET shows what will be signed and asks to confirm; only the
    confirming POST signs."""
    consultation = get_object_or_404(Consultation.objects.select_related("patient"), pk=pk)
    if consultation.is_signed:
        messages.info(request, "This consultation is already signed.")
        return redirect("treatments:consultation_detail", pk=pk)
    if request.method != "POST" or request.POST.get("confirmed") != "yes":
        return render(
            request,
            "treatments/confirm.html",
            {
                "patient": consultation.patient,
                "title": "Sign the consultation",
                "warning": "Once signed, the consultation is locked: corrections become addenda.",
                "summary": [
                    ("Date", f"{consultation.date:%d/%m/%Y}"),
                    ("Decision", consultation.get_decision_display() or "Not decided yet"),
                ],
                "action": reverse("treatments:consultation_sign", args=[pk]),
                "button": "Sign the consultation",
                "back": reverse("treatments:consultation_detail", args=[pk]),
            },
        )
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
            "diff": selectors.formulation_diff(old, new),
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
    """The session record, also its print view (print stylesheet): the map read-only, the lots,
    and the corrections beside a record marked done."""
    record = selectors.session_record_detail(pk)
    zones = list(record.zones.all())
    log_clinical_read(request, patient=record.patient, what="session_record", obj=record)
    return render(
        request,
        "treatments/session_detail.html",
        {
            "record": record,
            "patient": record.patient,
            "zones": zones,
            "diagram": record.map_rows,
            "correction_form": SessionCorrectionForm(),
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


@require_recent_auth  # marking done is irreversible and sends the aftercare e-mail
def session_done(request, pk: int):
    """Marking done is irreversible: a GET shows what will be locked and asks to confirm (with what
    is still missing); only the confirming POST marks it done."""
    record = selectors.session_record_detail(pk)
    if record.is_done:
        messages.info(request, "This session is already marked done.")
        return redirect("treatments:session_detail", pk=pk)
    if request.method != "POST" or request.POST.get("confirmed") != "yes":
        lots = {lot.line_id: lot for lot in record.lots.all()}
        problems = [
            f"No lot picked for {line.ingredient.name}: edit the record first."
            for line in record.formulation.lines.all()
            if not getattr(lots.get(line.pk), "stock_lot_id", None)
        ]
        return render(
            request,
            "treatments/confirm.html",
            {
                "patient": record.patient,
                "title": "Mark the session done",
                "warning": "The record is locked, the lots used come off stock and the aftercare e-mail is "
                "queued. Later changes are corrections beside the record.",
                "problems": problems,
                "summary": [
                    (
                        "Volume given",
                        f"{record.volume_ml.normalize():f} mL" if record.volume_ml is not None else "—",
                    ),
                    (
                        "Lots",
                        ", ".join(
                            f"{lot.line.ingredient.name}: {lot.lot_number or 'none'}" for lot in lots.values()
                        )
                        or "—",
                    ),
                    ("Zones mapped", ", ".join(z.get_zone_display() for z in record.zones.all()) or "None"),
                ],
                "action": reverse("treatments:session_done", args=[pk]),
                "button": "Mark done",
                "back": reverse("treatments:session_detail", args=[pk]),
            },
        )
    try:
        services.mark_session_done(session_record=record, by=request.user)
    except Refusal as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Session marked done. The aftercare e-mail is queued.")
    return redirect("treatments:session_detail", pk=pk)


def session_map(request, pk: int):
    """The injection map of an open session: zones, how each was injected, lots and points."""
    record = get_object_or_404(SessionRecord.objects.select_related("patient"), pk=pk)
    if record.is_done:
        messages.info(request, "This session is marked done and locked: add a correction instead.")
        return redirect("treatments:session_detail", pk=pk)
    zones = list(record.zones.all())
    lots = [lot.stock_lot for lot in record.lots.select_related("stock_lot") if lot.stock_lot_id]
    form = InjectionMapForm(request.POST or None, existing=zones, lots=lots)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_injection_map(session_record=record, by=request.user, zones=form.zone_inputs())
        except Refusal as error:
            show_refusal(form, error)
        else:
            messages.success(request, "Injection map saved.")
            return redirect("treatments:session_detail", pk=pk)
    # The diagram shows what the form holds (the posted points when the form comes back with errors).
    shown = []
    for row in form.rows:
        points = row["points"].value() if request.method == "POST" else None
        zone = next((z for z in zones if z.zone == row["shape"].key), None)
        if points is not None:
            try:
                parsed = parse_points(points) if row["treated"].value() else []
            except ValidationError:
                parsed = []
            zone = {"points": [[round(x), round(y)] for x, y in parsed]} if row["treated"].value() else None
        shown.append({"shape": row["shape"], "zone": zone})
    return render(
        request,
        "treatments/session_map.html",
        {"form": form, "record": record, "patient": record.patient, "diagram": shown},
    )


@require_POST
def session_correction_add(request, pk: int):
    record = get_object_or_404(SessionRecord, pk=pk)
    form = SessionCorrectionForm(request.POST)
    if form.is_valid():
        try:
            services.add_session_correction(session_record=record, by=request.user, **form.cleaned_data)
        except Refusal as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Correction added beside the record.")
    else:
        messages.error(request, "Say what is corrected (at most 300 characters) and why.")
    return redirect("treatments:session_detail", pk=pk)


# ---------------------------------------------------------------- stock and recall


def stock_list(request):
    """Every lot by product, with what is left and whether it can be used today."""
    today = timezone.localdate()
    lots = list(selectors.stock_lots())
    for lot in lots:
        lot.state = lot.state_on(today)
    return render(
        request,
        "treatments/stock_list.html",
        {"lots": lots, "can_receive": _can_write(request, "treatments:stock_receive")},
    )


def stock_receive(request):
    form = ReceiveStockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lot = services.receive_stock(by=request.user, **form.cleaned_data)
        except Refusal as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"Lot {lot.lot_number} of {lot.ingredient.name} received into stock.")
            return redirect("treatments:stock")
    return render(request, "treatments/stock_receive.html", {"form": form})


RECALL_PAGE = 50


def _recall_search(request):
    query = (request.GET.get("q") or "").strip()[:60]
    lots = selectors.lots_numbered(query)
    return query, lots, selectors.recall_uses([lot.pk for lot in lots])


def recall_search(request):
    """Every patient and session that received a lot, by lot number (rule `lot-recall`)."""
    query, lots, uses = _recall_search(request)
    ids = [lot.pk for lot in lots]
    page = selectors.recall_page(ids, request.GET.get("page"), size=RECALL_PAGE) if lots else None
    return render(
        request,
        "treatments/recall.html",
        {
            "query": query,
            "lots": lots,
            "page": page,
            "can_recall": _can_write(request, "treatments:lot_recall"),
        },
    )


CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


class _Echo:
    def write(self, value):
        return value


def recall_export(request):
    """The recall list as CSV, every use of the lots with this number (streamed in chunks)."""
    query, lots, uses = _recall_search(request)
    writer = csv.writer(_Echo())
    header = [
        "Lot",
        "Product",
        "Chart number",
        "Patient",
        "E-mail",
        "Phone",
        "Session",
        "Practitioner",
        "Done",
    ]

    def rows():
        yield writer.writerow(header)
        if not lots:
            return
        for use in uses.iterator(chunk_size=500):
            record, patient = use.session_record, use.session_record.patient
            cells = [
                use.lot_number,
                use.line.ingredient.name,
                patient.chart_number,
                patient.full_name,
                patient.email,
                patient.phone,
                f"{timezone.localtime(record.performed_at):%d/%m/%Y %H:%M}",
                person(record.practitioner),
                "yes" if record.done_at else "no",
            ]
            yield writer.writerow([csv_cell(cell) for cell in cells])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    safe = "".join(c for c in query if c.isalnum() or c in "-_") or "lot"
    response["Content-Disposition"] = f'attachment; filename="recall-{safe}.csv"'
    return response


def lot_recall(request, pk: int):
    """Recall a lot: a GET asks to confirm and for the reason; the POST recalls it and queues the
    notice to its patients (each once, whatever the number of times)."""
    stock_lot = get_object_or_404(StockLot.objects.select_related("ingredient"), pk=pk)
    form = RecallForm(request.POST or None, initial={"reason": stock_lot.recall_reason})
    if request.method == "POST" and form.is_valid():
        try:
            queued = services.recall_lot(
                stock_lot=stock_lot, by=request.user, reason=form.cleaned_data["reason"]
            )
        except Refusal as error:
            show_refusal(form, error)
        else:
            messages.success(
                request,
                f"Lot {stock_lot.lot_number} is recalled. {queued} recall notice{'s' if queued != 1 else ''} "
                "queued; patients without e-mail consent are to be called.",
            )
            return redirect(f"{reverse('treatments:recall')}?{urlencode({'q': stock_lot.lot_number})}")
    patients = (
        SessionLot.objects.filter(stock_lot=stock_lot).values("session_record__patient_id").distinct().count()
    )
    return render(
        request, "treatments/lot_recall.html", {"form": form, "stock_lot": stock_lot, "patients": patients}
    )
