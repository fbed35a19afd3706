"""Reads of clinical records, shaped for the pages that use them (fixed numbers of queries).
The `*_detail` selectors answer 404 for an unknown id."""

import datetime
from decimal import Decimal
from typing import NamedTuple

from django.core.paginator import Paginator
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from clinic.clock import local_datetime
from patients.models import Patient
from scheduling.models import ACTIVE_STATES, Appointment, AppointmentKind
from scheduling.selectors import local_today

from .models import (
    Consultation,
    Formulation,
    FormulationLine,
    Ingredient,
    InjectionZone,
    SessionLot,
    SessionRecord,
    StockLot,
)


def ingredient_list() -> QuerySet[Ingredient]:
    return Ingredient.objects.select_related("allergen_group").order_by("-is_active", "category", "name")


def consultation_detail(pk: int) -> Consultation:
    return get_object_or_404(
        Consultation.objects.select_related("patient", "practitioner", "signed_by").prefetch_related(
            "answers", Prefetch("addenda__author")
        ),
        pk=pk,
    )


def _lines() -> Prefetch:
    return Prefetch(
        "lines", queryset=FormulationLine.objects.select_related("ingredient", "ingredient__allergen_group")
    )


def formulation_detail(pk: int) -> Formulation:
    return get_object_or_404(
        Formulation.objects.select_related(
            "patient", "consultation", "created_by", "previous"
        ).prefetch_related(_lines()),
        pk=pk,
    )


def session_record_detail(pk: int) -> SessionRecord:
    return get_object_or_404(
        SessionRecord.objects.select_related(
            "patient", "practitioner", "done_by", "formulation", "appointment__room", "appointment__series"
        ).prefetch_related(
            "lots__line__ingredient",
            "lots__stock_lot",
            Prefetch("zones", queryset=InjectionZone.objects.select_related("stock_lot")),
            "corrections__author",
        ),
        pk=pk,
    )


def current_formulation(patient: Patient) -> Formulation | None:
    """The patient's latest formulation version: the one a booked session is recorded with."""
    return (
        Formulation.objects.filter(patient=patient)
        .select_related("patient", "consultation")
        .prefetch_related(_lines())
        .order_by("-version")
        .first()
    )


def latest_signed_consultation(patient: Patient, *, only: tuple[str, ...] = ()) -> Consultation | None:
    """The patient's standing clinical decision: their latest signed consultation, whatever it decided.

    Latest by the visit's date; two signed for the same day, the one signed last (the practitioner's
    last word that day), then the one written last. A draft is no decision yet and never counts.
    Addenda correct a signed note's text, never its decision, so they change nothing here. A later
    "not eligible" or "deferred" withdraws an earlier "eligible": new formulations and the series plan
    follow only from this one consultation, and only when it found the patient eligible.
    `only`: the fields to load (the practitioner is always joined)."""
    consultations = Consultation.objects.filter(patient=patient, signed_at__isnull=False).select_related(
        "practitioner"
    )
    if only:
        consultations = consultations.only(*only)
    return consultations.order_by("-date", "-signed_at", "-id").first()


def consultation_to_formulate_from(patient: Patient) -> Consultation | None:
    """The consultation a new formulation (first or next version) follows from: the latest signed one,
    when it found the patient eligible; None otherwise. What the pages offer and the service accepts."""
    latest = latest_signed_consultation(patient)
    return latest if latest is not None and latest.is_eligible else None


TIMELINE_PAGE = 25


class TimelinePage(NamedTuple):
    entries: list[dict]
    older: datetime.date | None  # "Show older" lists the days before this one; None: nothing older


def _timeline_entries(patient: Patient, *, before, on=None, limit) -> list[dict]:
    """Entries dated before `before` (or on the day `on`), newest first, at most `limit` of each kind."""
    consultations = Consultation.objects.filter(patient=patient).select_related("practitioner")
    formulations = Formulation.objects.filter(patient=patient).select_related("created_by")
    sessions = SessionRecord.objects.filter(patient=patient).select_related(
        "practitioner", "formulation", "appointment__room"
    )
    if on is not None:
        start, end = local_datetime(on), local_datetime(on + datetime.timedelta(days=1))
        consultations = consultations.filter(date=on)
        formulations = formulations.filter(created_at__gte=start, created_at__lt=end)
        sessions = sessions.filter(performed_at__gte=start, performed_at__lt=end)
    elif before is not None:
        consultations = consultations.filter(date__lt=before)
        formulations = formulations.filter(created_at__lt=local_datetime(before))
        sessions = sessions.filter(performed_at__lt=local_datetime(before))
    consultations = consultations.order_by("-date", "-id")
    formulations = formulations.prefetch_related(_lines()).order_by("-created_at", "-version")
    sessions = sessions.prefetch_related("zones").order_by("-performed_at", "-id")
    if limit is not None:
        consultations, formulations, sessions = consultations[:limit], formulations[:limit], sessions[:limit]
    entries = []
    for c in consultations:
        entries.append({"kind": "consultation", "when": c.date, "object": c})
    for f in formulations:
        entries.append({"kind": "formulation", "when": timezone.localtime(f.created_at).date(), "object": f})
    for s in sessions:
        entries.append({"kind": "session", "when": timezone.localtime(s.performed_at).date(), "object": s})
    order = {"session": 0, "formulation": 1, "consultation": 2}
    entries.sort(key=lambda e: (e["when"], -order[e["kind"]], e["object"].pk), reverse=True)
    return entries


def timeline(
    patient: Patient, *, before: datetime.date | None = None, size: int = TIMELINE_PAGE
) -> TimelinePage:
    """The patient's clinical history, newest first: consultations, formulation versions, session
    records, dated before `before` (all when None). About `size` entries and never part of a day:
    the page ends on the last whole day it holds, and `older` continues from there. Four queries
    whatever the size of the history (seven on the rare page whose first day alone has more than
    `size` entries, which is then shown whole)."""
    fetched = _timeline_entries(patient, before=before, limit=size + 1)
    if len(fetched) <= size:
        return TimelinePage(fetched, None)
    # Every kind's entries newer than the size-th entry's day are all in `fetched` (each kind brought
    # size + 1 of its newest); that day itself may be incomplete, so the page stops before it.
    boundary = fetched[size - 1]["when"]
    entries = [e for e in fetched if e["when"] > boundary]
    if entries:
        return TimelinePage(entries, boundary + datetime.timedelta(days=1))
    entries = _timeline_entries(patient, before=None, on=boundary, limit=None)
    return TimelinePage(entries, boundary)  # there may be older entries; that page says if not


def formulation_ids(patient: Patient, versions: set[int]) -> dict[int, int]:
    """The id of each of these formulation versions of the patient (no query for none)."""
    if not versions:
        return {}
    return dict(
        Formulation.objects.filter(patient=patient, version__in=versions).values_list("version", "pk")
    )


def timeline_header(patient: Patient, page: TimelinePage, *, first_page: bool) -> dict:
    """What the timeline's buttons need whatever page is shown: the latest formulation version (from
    the first page when it holds one, a query otherwise) and the consultation a new formulation would
    follow from (always its own query: the one definition the formulation service checks)."""
    formulations = [e["object"] for e in page.entries if e["kind"] == "formulation"]
    return {
        "latest_formulation": formulations[0]
        if first_page and formulations
        else Formulation.objects.filter(patient=patient).order_by("-version").only("pk", "version").first(),
        "formulate_from": consultation_to_formulate_from(patient),
    }


def clinical_summary(patient: Patient) -> dict:
    """The latest consultation, current formulation and last session, for the patient page."""
    return {
        "consultation": Consultation.objects.filter(patient=patient).order_by("-date", "-id").first(),
        "formulation": Formulation.objects.filter(patient=patient)
        .prefetch_related(_lines())
        .order_by("-version")
        .first(),
        "session": SessionRecord.objects.filter(patient=patient).order_by("-performed_at", "-id").first(),
    }


def session_states(appointment_ids) -> dict[int, SessionRecord]:
    """The session record of each of these appointments that has one, by appointment id, holding only
    its id and whether it is done: what non-clinical pages may show (recorded, done)."""
    return {
        r.appointment_id: r
        for r in SessionRecord.objects.filter(appointment_id__in=list(appointment_ids)).only(
            "pk", "appointment_id", "done_at"
        )
    }


class SessionsToRecord(NamedTuple):
    appointments: list[Appointment]  # the newest `limit`
    total: int


def sessions_to_record(practitioner, *, limit: int = 10) -> SessionsToRecord:
    """The practitioner's treatment appointments of days before today, neither cancelled nor missed,
    with no session record yet: sessions still to record, newest first. (One with an open record is
    an open session, listed as such.) One query, two when there are more than `limit`."""
    appointments = (
        Appointment.objects.filter(
            practitioner=practitioner,
            kind=AppointmentKind.TREATMENT,
            state__in=ACTIVE_STATES,
            starts_at__lt=local_datetime(local_today()),
            session_record__isnull=True,
        )
        .select_related("patient")
        .order_by("-starts_at", "-id")
    )
    shown = list(appointments[: limit + 1])
    total = len(shown) if len(shown) <= limit else appointments.count()
    return SessionsToRecord(shown[:limit], total)


class SeriesPlanDefaults(NamedTuple):
    """The count and cadence of a practitioner's plan, and whose plan of which day: the one part of a
    consultation front desk may see (docs/design.md, roles)."""

    count: int
    interval_days: int
    practitioner: object
    date: datetime.date


def series_plan_for(patient: Patient) -> SeriesPlanDefaults | None:
    """The plan the series planner starts from (docs/design.md, the flow of a patient, step 4): the count and
    interval of the patient's latest signed consultation, when it found the patient eligible and has a plan.

    A later signed "not eligible" or "deferred" decision withdraws the earlier plan, so only the latest
    signed consultation counts (`latest_signed_consultation`). Reads only the plan's fields, never
    notes, reasons or screening.
    """
    latest = latest_signed_consultation(
        patient,
        only=(
            "date",
            "signed_at",
            "decision",
            "plan_session_count",
            "plan_interval_days",
            "practitioner__first_name",
            "practitioner__last_name",
            "practitioner__username",
        ),
    )
    if latest is None or not latest.is_eligible:
        return None
    if not (latest.plan_session_count and latest.plan_interval_days):
        return None
    return SeriesPlanDefaults(
        count=latest.plan_session_count,
        interval_days=latest.plan_interval_days,
        practitioner=latest.practitioner,
        date=latest.date,
    )


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "—"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value) if value not in ("", None) else "—"


def formulation_diff(old: Formulation, new: Formulation) -> dict:
    """What changed between two versions: ingredients added, removed, changed amount; other fields."""
    old_lines = {line.ingredient_id: line for line in old.lines.all()}
    new_lines = {line.ingredient_id: line for line in new.lines.all()}
    added = [new_lines[i] for i in new_lines.keys() - old_lines.keys()]
    removed = [old_lines[i] for i in old_lines.keys() - new_lines.keys()]
    changed = [
        (old_lines[i], new_lines[i])
        for i in old_lines.keys() & new_lines.keys()
        if old_lines[i].amount != new_lines[i].amount
    ]
    fields = []
    for name, label in (
        ("concern_labels", "Concerns targeted"),
        ("total_volume_ml", "Total volume (mL)"),
        ("vehicle", "Dilution / vehicle"),
        ("notes", "Notes"),
    ):
        before, after = _shown(getattr(old, name)), _shown(getattr(new, name))
        if before != after:
            fields.append((label, before, after))
    by_name = lambda line: line.ingredient.name  # noqa: E731
    return {
        "added": sorted(added, key=by_name),
        "removed": sorted(removed, key=by_name),
        "changed": sorted(changed, key=lambda pair: pair[0].ingredient.name),
        "fields": fields,
        "same": not (added or removed or changed or fields),
    }


# ---------------------------------------------------------------- stock and recall


def stock_lots() -> QuerySet[StockLot]:
    """Every lot, by product then expiring first (the stock page)."""
    return StockLot.objects.select_related("ingredient").order_by("ingredient__name", "expiry_date", "id")


def lots_numbered(number: str) -> list[StockLot]:
    """The lots with this number, whatever the product (a recall names the number); case ignored."""
    number = (number or "").strip()
    if not number:
        return []
    return list(StockLot.objects.filter(lot_number__iexact=number).select_related("ingredient")[:20])


def recall_uses(stock_lot_ids) -> QuerySet[SessionLot]:
    """Every session that used one of these lots, with its patient: newest first. Slice or paginate
    it: two queries per page whatever the number of uses (rule `lot-recall`)."""
    return (
        SessionLot.objects.filter(stock_lot_id__in=list(stock_lot_ids))
        .select_related(
            "session_record__patient", "session_record__practitioner", "line__ingredient", "stock_lot"
        )
        .order_by("-session_record__performed_at", "-id")
    )


def recall_page(stock_lot_ids, number, *, size: int = 50):
    """One page of `recall_uses`: the page's ids first, sorted on the session's time with only the
    session joined, then those rows with their patient and product (three queries with the count;
    sorting the fully joined rows of a lot used 5,000 times cost ten times more)."""
    ids = (
        SessionLot.objects.filter(stock_lot_id__in=list(stock_lot_ids))
        .order_by("-session_record__performed_at", "-id")
        .values_list("pk", flat=True)
    )
    page = Paginator(ids, size).get_page(number)
    rows = recall_uses(stock_lot_ids).in_bulk(list(page.object_list))
    page.object_list = [rows[pk] for pk in page.object_list if pk in rows]
    return page


LOW_STOCK_SESSIONS = 5  # a product is low when its usable lots hold fewer doses than this
EXPIRING_DAYS = 30


def low_stock(day, *, limit: int = 10) -> list[dict]:
    """Active products the clinic keeps in stock whose usable lots hold fewer than LOW_STOCK_SESSIONS
    typical doses, the emptiest first (one query). Kept in stock: at least one lot was received. A
    product never received (most of the catalogue, or one known only from lot numbers typed before stock
    was kept) is not running low, and listing it hid the products that are; one whose lots are used up,
    expired or recalled is, with nothing left."""
    usable = Q(stock_lots__expiry_date__gte=day, stock_lots__recalled_at__isnull=True)
    received = StockLot.objects.filter(ingredient=OuterRef("pk"), from_old_records=False)
    products = (
        Ingredient.objects.active()
        .filter(Exists(received))
        .annotate(left=Coalesce(Sum("stock_lots__quantity_remaining", filter=usable), Decimal(0)))
        .filter(left__lt=F("typical_amount") * LOW_STOCK_SESSIONS)
        .order_by("left", "name")
    )
    return list(products[:limit])


def expiring_soon(day, *, limit: int = 10) -> list[StockLot]:
    """Usable lots that expire within EXPIRING_DAYS of the day, soonest first (one query)."""
    return list(
        StockLot.objects.usable_on(day)
        .filter(expiry_date__lte=day + datetime.timedelta(days=EXPIRING_DAYS))
        .select_related("ingredient")[:limit]
    )
