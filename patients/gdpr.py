"""A patient's data rights (GDPR Art. 15, 17, 20): erasure on request (rule `records-kept-after-erasure`,
docs/clinical-rules.md) and the export of the whole record (patients/export.py)."""

import datetime

from django.apps import apps
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clinic.audit_chain import queue_bulk, value_digest
from clinic.errors import Refusal
from clinic.models import AuditRedaction, ClinicSettings

from .models import ErasureRequest, Patient

# What "contact and marketing data" is on the patient row, and what each becomes at once.
CONTACT_FIELDS = {
    "email": "",
    "phone": "",
    "address_line": "",
    "postal_code": "",
    "city": "",
    "country": "",
    "notes": "",
    "preferred_name": "",
    "email_consent": False,
}
# Free text in clinical records, which may name or describe the person: cleared when the record is
# pseudonymised at the end of the retention period (structured data stays, without identity).
CLINICAL_FREE_TEXT = {
    "patients.Screening": ("allergy_notes", "current_medications"),
    "treatments.Consultation": (
        "concern_other",
        "goals",
        "skin_assessment",
        "decision_reason",
        "override_reason",
        "plan_area_other",
        "plan_reason",
        "plan_notes",
    ),
    "treatments.Addendum": ("text",),
    "treatments.Formulation": ("notes",),
    "treatments.SessionRecord": ("area_other", "reaction_other", "aftercare_instructions", "notes"),
    "scheduling.Appointment": ("notes", "cancel_reason"),
}
ERASED_TEXT = "[erased]"


def _pseudonym(patient: Patient) -> dict:
    return {
        "given_name": "Erased",
        "family_name": f"patient {patient.chart_number}",
        "preferred_name": "",
        "date_of_birth": datetime.date(patient.date_of_birth.year, 1, 1),
    }


@transaction.atomic
def request_erasure(*, patient: Patient, by, how_asked: str) -> ErasureRequest:
    """Record that the patient asked to be erased; a clinic admin decides."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.erasure_requests.filter(state=ErasureRequest.State.PENDING).exists():
        raise Refusal("This patient already has an erasure request waiting for a decision.")
    if patient.pseudonymised_at:
        raise Refusal("This patient's record is already pseudonymised: there is nothing left to erase.")
    request = ErasureRequest(patient=patient, recorded_by=by, how_asked=how_asked.strip())
    request._history_user = by
    request.full_clean()
    request.save()
    return request


def last_treatment_day(patient: Patient) -> datetime.date | None:
    """The last day the patient was treated or consulted (what the retention period counts from)."""
    session_record = apps.get_model("treatments", "SessionRecord")
    consultation = apps.get_model("treatments", "Consultation")
    last_session = session_record.objects.filter(patient=patient).aggregate(at=Max("performed_at"))["at"]
    last_consultation = consultation.objects.filter(patient=patient).aggregate(day=Max("date"))["day"]
    days = [d for d in (last_session and timezone.localdate(last_session), last_consultation) if d]
    return max(days) if days else None


def keep_until(patient: Patient, *, years: int, today: datetime.date) -> datetime.date:
    """Clinical records are kept `years` after the last treatment (rule `records-kept-after-erasure`);
    a patient never treated has no clinical record to keep: today."""
    last = last_treatment_day(patient)
    if last is None:
        return today
    try:
        return last.replace(year=last.year + years)
    except ValueError:  # 29 February
        return last.replace(year=last.year + years, day=28)


@transaction.atomic
def decide_erasure(*, erasure: ErasureRequest, by, approve: bool, reason: str) -> ErasureRequest:
    """The clinic admin's decision. Approved: contact and marketing data are erased at once, the record
    is archived, pending e-mails cancelled; the clinical records are kept until the retention period
    ends, then pseudonymised (at once when it has already ended)."""
    erasure = ErasureRequest.objects.select_for_update().get(pk=erasure.pk)
    if not erasure.is_pending:
        raise Refusal("This request was already decided; its outcome is shown below.")
    reason = reason.strip()
    if not approve and not reason:
        raise Refusal("Say why the request is refused: the patient is told the reason.", field="reason")
    now = timezone.now()
    erasure.decided_at, erasure.decided_by, erasure.decision_reason = now, by, reason
    if not approve:
        erasure.state = ErasureRequest.State.REFUSED
        erasure.outcome = "Refused; nothing was erased."
    else:
        today = timezone.localdate(now)
        years = ClinicSettings.load().retention_years
        erasure.keep_clinical_until = keep_until(erasure.patient, years=years, today=today)
        counts = erase_contact_data(erasure.patient, by=by, reason=f"erasure request {erasure.pk}")
        erasure.contact_erased_at = now
        erasure.state = ErasureRequest.State.CONTACT_ERASED
        erasure.outcome = (
            f"Contact and marketing details erased on {today:%d/%m/%Y}; {counts['messages']} e-mail(s) "
            f"to the patient emptied. Clinical records kept until {erasure.keep_clinical_until:%d/%m/%Y} "
            f"({years} years after the last treatment), then pseudonymised."
        )
    erasure._history_user = by
    erasure.save()
    if approve and erasure.keep_clinical_until <= timezone.localdate(now):
        pseudonymise(erasure, by=by)
    return erasure


def redact(model, queryset, values: dict, reason: str) -> int:
    """Overwrite `values` on these rows of an audited (change-history) table, recording for each changed
    field the digest of what it held (clinic.models.AuditRedaction), so the audit chain still verifies
    and shows the change was an erasure. Returns the number of rows."""
    table = model._meta.db_table
    attnames = {model._meta.get_field(name).attname: value for name, value in values.items()}
    rows = list(queryset.values("pk", *attnames))
    redactions = []
    done = set(
        AuditRedaction.objects.filter(table=table, row_id__in=[r["pk"] for r in rows]).values_list(
            "row_id", "field"
        )
    )
    for row in rows:
        for field, new in attnames.items():
            if row[field] != new and (row["pk"], field) not in done:
                redactions.append(
                    AuditRedaction(
                        table=table,
                        row_id=row["pk"],
                        field=field,
                        original_digest=value_digest(row[field]),
                        reason=reason,
                    )
                )
    AuditRedaction.objects.bulk_create(redactions)
    queue_bulk(AuditRedaction.objects.filter(pk__in=[r.pk for r in redactions]))
    queryset.update(**values)
    return len(rows)


def erase_contact_data(patient: Patient, *, by, reason: str) -> dict:
    """Contact and marketing data out of the patient row, its change history and the outbox."""
    from outbox.models import OutboxEvent, OutboxMessage
    from scheduling.notifications import sync_patient_reminders

    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    for name, value in CONTACT_FIELDS.items():
        setattr(patient, name, value)
    patient.email_consent_changed_at = timezone.now()
    if patient.archived_at is None:
        patient.archived_at = timezone.now()
    patient.search_text = patient.build_search_text()
    patient._history_user = by
    patient._change_reason = "Contact details erased at the patient's request"
    patient.save()
    sync_patient_reminders(patient=patient)
    history = Patient.history.model
    redact(history, history.objects.filter(id=patient.pk), CONTACT_FIELDS, reason)
    messages = OutboxMessage.objects.filter(patient=patient)
    # last_error can quote the address too (a refused recipient); the events quote it ("Accepted by
    # the mail server for …").
    count = messages.update(recipient="", body_text="", body_html="", last_error="")
    OutboxEvent.objects.filter(message_id__in=messages.values("pk")).exclude(detail="").update(
        detail=ERASED_TEXT
    )
    messages.filter(state=OutboxMessage.State.PENDING).update(
        state=OutboxMessage.State.CANCELLED, last_error="The patient asked to be erased."
    )
    return {"messages": count}


@transaction.atomic
def pseudonymise(erasure: ErasureRequest, *, by=None) -> ErasureRequest:
    """The end of the retention period: the patient's identity becomes a pseudonym (the chart number
    stays, as the key of the kept records), free text in the clinical records is cleared, in the
    records and in their change history."""
    erasure = ErasureRequest.objects.select_for_update().get(pk=erasure.pk)
    patient = Patient.objects.select_for_update().get(pk=erasure.patient_id)
    reason = f"erasure request {erasure.pk}, end of retention"
    pseudonym = _pseudonym(patient)
    for name, value in pseudonym.items():
        setattr(patient, name, value)
    patient.pseudonymised_at = timezone.now()
    patient.search_text = patient.build_search_text()
    patient._history_user = by
    patient._change_reason = "Pseudonymised at the end of the retention period"
    patient.save()
    history = Patient.history.model
    redact(history, history.objects.filter(id=patient.pk), {**CONTACT_FIELDS, **pseudonym}, reason)
    cleared = 0
    for label, fields in CLINICAL_FREE_TEXT.items():
        model = apps.get_model(label)
        path = "consultation__patient" if label == "treatments.Addendum" else "patient"
        live = model.objects.filter(**{path: patient})
        ids = list(live.values_list("pk", flat=True))
        values = dict.fromkeys(fields, "")
        if label == "treatments.Addendum":
            values = {"text": ERASED_TEXT}
        cleared += live.update(**values)
        model_history = model.history.model
        redact(model_history, model_history.objects.filter(id__in=ids), values, reason)
    erasure.state = ErasureRequest.State.DONE
    erasure.done_at = timezone.now()
    erasure.outcome += (
        f" Pseudonymised on {timezone.localdate():%d/%m/%Y}: name and date of birth replaced, "
        f"free text cleared in {cleared} clinical record(s)."
    )
    erasure._history_user = by
    erasure.save()
    return erasure


def pseudonymise_expired(*, today: datetime.date | None = None) -> int:
    """Pseudonymise every erased patient whose retention period has ended (the daily task and
    `manage.py pseudonymise_expired`). Returns how many."""
    today = today or timezone.localdate()
    due = ErasureRequest.objects.filter(
        state=ErasureRequest.State.CONTACT_ERASED, keep_clinical_until__lte=today
    )
    count = 0
    for erasure in due.order_by("pk").only("pk"):
        pseudonymise(erasure)
        count += 1
    return count
