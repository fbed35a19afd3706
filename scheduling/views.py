"""Scheduling pages. Thin: parse input, call one service or selector, render."""

import datetime
import json

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from clinic.clock import local_datetime, to_local
from clinic.errors import Refusal, show_refusal
from clinic.models import ClinicSettings
from clinic.staff import person
from consents import patient_section as consents_section
from consents.selectors import consent_status, valid_until
from patients.models import Patient
from patients.selectors import patient_search
from treatments import appointment_section

from . import calendar_grid, notifications, selectors, services
from .availability import active_rooms, practitioners, when
from .forms import AppointmentForm, CancelForm, PlanForm, RescheduleForm, RowChoices, SessionRowFormSet
from .models import Appointment, AppointmentKind, AppointmentState, ProtocolBand, SessionSeries, cadence_label
from .planner import (
    band_deviation,
    band_for_age,
    cadence_for_interval,
    check_series,
    plan_and_propose,
)


def _parse_date(value: str | None, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _parse_int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _patient_or_none(request, key: str = "patient") -> Patient | None:
    pk = _parse_int(request.GET.get(key) or request.POST.get(key))
    return Patient.objects.active().filter(pk=pk).first() if pk else None


# --- calendar ----------------------------------------------------------------------------------


def calendar(request):
    """Day and week views by practitioner or by room, in the clinic's zone (htmx navigation)."""
    view = request.GET.get("view") if request.GET.get("view") in ("day", "week") else "week"
    by = request.GET.get("by") if request.GET.get("by") in ("practitioner", "room") else "practitioner"
    day = _parse_date(request.GET.get("date"), selectors.local_today())
    cal = selectors.build_calendar(
        view=view, by=by, day=day, who_id=_parse_int(request.GET.get("who")), user=request.user
    )
    context = {
        "cal": cal,
        "links": _calendar_links(cal),
        "header": calendar_grid.header_html(cal),
        "grid": calendar_grid.grid_html(cal),
        "choice_options": calendar_grid.choice_options(cal) if cal.view == "week" else "",
    }
    fragment = request.htmx and not request.htmx.history_restore_request
    template = "scheduling/_calendar.html" if fragment else "scheduling/calendar.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])  # the fragment and the page share one address
    return response


def _calendar_links(cal) -> dict:
    """Every link the calendar toolbar needs, keeping the other choices as they are."""
    base = {"view": cal.view, "by": cal.by, "date": cal.day.isoformat()}
    if cal.who is not None:
        base["who"] = cal.who.pk
    page = reverse("scheduling:calendar")  # once, not once per link (~15 a week)

    def link(**changes):
        # Every value is one of the fixed words above, an ISO date or an id: none needs quoting, and
        # urlencode() quoting each of them was half the cost of these links (issue 19).
        params = {**base, **changes}
        return f"{page}?" + "&".join(f"{k}={v}" for k, v in params.items() if v is not None)

    if cal.view == "week":
        for column in cal.columns:
            column.link = link(view="day", date=column.day.isoformat(), who=None)
    return {
        "page": page,
        "previous": link(date=cal.previous.isoformat()),
        "next": link(date=cal.next.isoformat()),
        "today": link(date=selectors.local_today().isoformat()),
        "day": link(view="day"),
        "week": link(view="week"),
        "by_practitioner": link(by="practitioner", who=None),
        "by_room": link(by="room", who=None),
        "print": f"{reverse('scheduling:day_list')}?{urlencode({'date': cal.day.isoformat()})}",
    }


# --- the interactive calendar (EventCalendar, static/js/calendar-board.js; docs/design.md) ----------

BOARD_VIEWS = {"day": "resourceTimeGridDay", "week": "resourceTimeGridWeek", "agenda": "listWeek"}


def _board_filters(params) -> selectors.BoardFilters:
    kind = params.get("kind") if params.get("kind") in AppointmentKind.values else ""
    return selectors.BoardFilters(
        by=selectors.BY_ROOM if params.get("by") == selectors.BY_ROOM else selectors.BY_PRACTITIONER,
        practitioner_id=_parse_int(params.get("practitioner")),
        room_id=_parse_int(params.get("room")),
        kind=kind,
    )


def calendar_board(request):
    """Every practitioner (or every room) side by side, a day or a week, or the agenda list: drag to
    move, stretch to change the length. The server-rendered grid (`calendar`) is the page without
    JavaScript and the print view."""
    filters = _board_filters(request.GET)
    view = request.GET.get("view") if request.GET.get("view") in BOARD_VIEWS else "day"
    day = _parse_date(request.GET.get("date"), selectors.local_today())
    span = selectors.opening_span()
    columns = selectors.board_columns(filters)
    plain = {"view": "day" if view == "day" else "week", "by": filters.by, "date": day.isoformat()}
    config = {
        "feed": reverse("scheduling:calendar_feed"),
        "move": reverse("scheduling:calendar_move"),
        "view": BOARD_VIEWS[view],
        "chosen": "view" in request.GET,  # a phone starts in the agenda unless a view was chosen
        "date": day.isoformat(),
        "by": filters.by,
        "params": {
            k: v
            for k, v in {
                "by": filters.by,
                "practitioner": filters.practitioner_id,
                "room": filters.room_id,
                "kind": filters.kind,
            }.items()
            if v
        },
        "resources": selectors.board_resources(columns, filters.by),
        "kinds": dict(AppointmentKind.choices),
        "states": dict(AppointmentState.choices),
        "appointmentUrl": reverse("scheduling:appointment_detail", args=[0]),
        "slotMinTime": f"{span[0]:%H:%M}" if span else "08:00",
        "slotMaxTime": f"{span[1]:%H:%M}" if span else "20:00",
        # EventCalendar counts weekdays from Sunday (0), Python from Monday (0).
        "hiddenDays": [(d + 1) % 7 for d in span[2]] if span else [],
    }
    return render(
        request,
        "scheduling/board.html",
        {
            "config": config,
            "filters": filters,
            "view": view,
            "day": day,
            "practitioners": list(practitioners()),
            "rooms": list(active_rooms()),
            "kinds": AppointmentKind.choices,
            "has_columns": bool(columns) and span is not None,
            "plain_url": f"{reverse('scheduling:calendar')}?{urlencode(plain)}",
        },
    )


def _feed_day(value: str | None) -> datetime.date | None:
    """EventCalendar sends "2026-12-07T00:00:00" (or a date): the day is enough."""
    try:
        return datetime.date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def _json(data, status: int = 200) -> HttpResponse:
    """JSON with <, > and & as \\u escapes (as json_script does): the names are the patients' own, and
    a hostile one stays inert even if the answer is pasted into a page."""
    text = json.dumps(data, separators=(",", ":"))
    text = text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
    return HttpResponse(text, status=status, content_type="application/json")


def calendar_feed(request):
    """The board's appointments (JSON) for [start, end): what front desk may see, never clinical notes."""
    if "start" not in request.GET and "end" not in request.GET:  # this week, as the board opens
        today = selectors.local_today()
        monday = today - datetime.timedelta(days=today.weekday())
        return _json(
            selectors.board_feed(monday, monday + datetime.timedelta(days=6), _board_filters(request.GET))
        )
    first, end = _feed_day(request.GET.get("start")), _feed_day(request.GET.get("end"))
    if first is None or end is None or end <= first:
        return _json({"message": "Give the first and the last day to show."}, status=400)
    last = end - datetime.timedelta(days=1)  # EventCalendar's end is exclusive
    if (last - first).days >= selectors.FEED_MAX_DAYS:
        return _json({"message": f"Show at most {selectors.FEED_MAX_DAYS} days at a time."}, status=400)
    return _json(selectors.board_feed(first, last, _board_filters(request.GET)))


def _feed_moment(value: str | None) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return local_datetime(moment.date(), moment.time().replace(tzinfo=None))


@require_POST
def calendar_move(request):
    """A drag (new start, and a new column) or a stretch (new end) on the board, through the same
    services as the forms; a refusal comes back as the message to show, and the board puts the
    appointment back where it was."""
    pk = _parse_int(request.POST.get("appointment"))
    starts_at, ends_at = _feed_moment(request.POST.get("start")), _feed_moment(request.POST.get("end"))
    appointment = Appointment.objects.filter(pk=pk).first() if pk else None
    if appointment is None:
        return _json({"ok": False, "message": "That appointment no longer exists: reload the calendar."}, 404)
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        return _json({"ok": False, "message": "The new time was not understood: nothing was changed."}, 400)
    practitioner, room = None, None
    resource = _parse_int(request.POST.get("resource"))
    if resource is not None:
        if request.POST.get("by") == selectors.BY_ROOM:
            room = active_rooms().filter(pk=resource).first()
        else:
            practitioner = practitioners().filter(pk=resource).first()
        if room is None and practitioner is None:
            return _json(
                {"ok": False, "message": "That column is no longer on the calendar: reload it."}, 400
            )
    minutes = int((ends_at - starts_at).total_seconds() // 60)
    moved = starts_at != appointment.starts_at or (practitioner or room) is not None
    try:
        with transaction.atomic():
            if moved:
                appointment = services.reschedule_appointment(
                    appointment=appointment,
                    starts_at=starts_at,
                    practitioner=practitioner,
                    room=room,
                    by=request.user,
                )
            if minutes != appointment.duration_minutes:
                appointment = services.change_appointment_length(
                    appointment=appointment, minutes=minutes, by=request.user
                )
    except Refusal as exc:
        # An answer, not an error (the browser would log a 4xx as one): the board shows the message.
        return _json({"ok": False, "message": exc.message})
    local = to_local(appointment.starts_at)
    what = "Moved" if moved else "Changed"
    return _json(
        {
            "ok": True,
            "message": f"{what}: {appointment.patient.full_name}, {when(appointment.starts_at)}–"
            f"{to_local(appointment.ends_at):%H:%M} with {person(appointment.practitioner)} in "
            f"{appointment.room}.",
            "start": local.replace(tzinfo=None).isoformat(timespec="minutes"),
        }
    )


def day_list(request):
    """The printable day list for the treatment rooms."""
    day = _parse_date(request.GET.get("date"), selectors.local_today())
    rooms = list(active_rooms())
    room = next((r for r in rooms if r.pk == _parse_int(request.GET.get("room"))), None)
    appointments = selectors.appointments_on(day, room=room)
    # Signed or missing, never more (rule `consent-before-session`): one query for the day.
    consent = consent_status({a.patient_id for a in appointments}, day)
    for appointment in appointments:
        appointment.consent_signed = consent.get(appointment.patient_id, False)
    return render(
        request,
        "scheduling/day_list.html",
        {"day": day, "room": room, "rooms": rooms, "appointments": appointments},
    )


# --- the series planner ------------------------------------------------------------------------


def _slots_from(formset) -> list[tuple]:
    return [
        (
            local_datetime(f.cleaned_data["date"], f.cleaned_data["time"]),
            f.cleaned_data["practitioner"],
            f.cleaned_data["room"],
        )
        for f in formset.forms
    ]


def plan_series(request):
    """Pick a patient, see the proposal, move sessions, book them all in one action (rules
    `age-on-first-session`, `no-series-under-18`, `twice-weekly-spacing`, `move-within-tolerance`;
    docs/clinical-rules.md)."""
    patient = _patient_or_none(request)
    if patient is None:
        query = request.GET.get("q", "").strip()
        return render(
            request,
            "scheduling/plan_pick_patient.html",
            {"query": query, "patients": patient_search(query)[:20] if query else []},
        )
    minutes = ClinicSettings.for_request(request).default_appointment_minutes
    from_plan, initial = _practitioners_plan(patient)
    form = PlanForm(
        request.POST or None,
        initial={"preferred_time": datetime.time(10), "weekdays": [0, 3], **initial},
        plan_cadence=initial.get("cadence"),
    )
    context = {
        "patient": patient,
        "from_plan": from_plan,
        "from_plan_cadence": cadence_label(*cadence_for_interval(from_plan.interval_days))
        if from_plan
        else "",
        "form": form,
        "minutes": minutes,
        "proposal": None,
        "formset": None,
        "plan": None,
        "proposed_age": None,
        # Signed (until when) or missing, as on the patient page, so that the desk has it signed on
        # arrival (rule `consent-before-session`); `_sessions_after_consent` counts the rows it misses.
        "consent_until": valid_until(patient.pk),
        "sessions_after_consent": 0,
    }
    if request.method != "POST" or not form.is_valid():
        return render(request, "scheduling/plan.html", context)
    data = form.cleaned_data
    action = request.POST.get("action", "propose")
    options = {
        "count": data["count"],
        "cadence": form.cadence_tuple,
        "weekdays": tuple(data["weekdays"]) or None,
        "override_reason": data["override_reason"],
    }
    try:
        if action == "propose":
            proposal = plan_and_propose(
                patient=patient,
                first_date=data["first_date"],
                practitioner=data["practitioner"],
                room=data["room"],
                preferred_time=data["preferred_time"],
                **options,
            )
            context["proposal"], context["plan"] = proposal, proposal.plan
            context["proposed_age"] = proposal.plan.age
            context["formset"] = SessionRowFormSet(
                form_kwargs={"choices": RowChoices()},
                initial=[
                    {
                        "date": s.date or s.target,
                        "time": s.time or data["preferred_time"],
                        "practitioner": s.practitioner or data["practitioner"],
                        "room": s.room or data["room"],
                    }
                    for s in proposal.sessions
                ],
            )
            context["problems"] = [s.problem for s in proposal.sessions]
            _sessions_after_consent(context, [s.date or s.target for s in proposal.sessions])
            return render(request, "scheduling/plan.html", context)

        formset = SessionRowFormSet(request.POST, form_kwargs={"choices": RowChoices()})
        context["formset"] = formset
        if not formset.is_valid():
            context["problems"] = ["" for _ in formset.forms]
            form.add_error(None, "Give a date, a time, a practitioner and a room for every session.")
            return render(request, "scheduling/plan.html", context)
        slots = _slots_from(formset)
        _sessions_after_consent(context, [f.cleaned_data["date"] for f in formset.forms])
        # Rule `band-change-needs-a-reason`: the age the proposal was planned with, to show a band change.
        context["proposed_age"] = _parse_int(request.POST.get("proposed_age"))
        checked = check_series(
            patient=patient, slots=slots, minutes=minutes, proposed_age=context["proposed_age"], **options
        )
        context["plan"], context["problems"] = checked.plan, checked.problems
        if not checked.ok:
            form.add_error(None, "Some sessions cannot be booked as they are: move them and check again.")
        elif action == "book":
            series = services.book_series(
                patient=patient, plan=checked.plan, slots=slots, minutes=minutes, by=request.user
            )
            messages.success(request, f"Booked {series.count} sessions for {patient.full_name}.")
            return redirect("scheduling:series_detail", pk=series.pk)
    except Refusal as exc:
        show_refusal(form, exc)
    return render(request, "scheduling/plan.html", context)


def _sessions_after_consent(context: dict, days) -> None:
    """How many of the sessions fall after the last day the signed consent covers: each needs a new
    consent before it is recorded (rule `consent-before-session`). None when consent is missing: the
    first session needs it already."""
    until = context["consent_until"]
    if until is not None:
        context["sessions_after_consent"] = sum(1 for day in days if day and day > until)


def _practitioners_plan(patient) -> tuple[object, dict]:
    """docs/design.md, the flow of a patient, step 4: the practitioner confirmed count and cadence at the
    consultation, so the planner starts from that plan (count and cadence only: front desk sees nothing else
    of it), and from the age band when there is none. The plan is the reason for leaving the band, if it
    does."""
    from treatments.selectors import series_plan_for

    plan = series_plan_for(patient)
    if plan is None:
        return None, {}
    per, days = cadence_for_interval(plan.interval_days)
    initial = {"count": plan.count, "cadence": f"{per}/{days}"}
    band = band_for_age(patient.age_on(selectors.local_today()))
    if band is None or band_deviation(band, count=plan.count, cadence=(per, days)):
        who = person(plan.practitioner)
        initial["override_reason"] = f"As planned by {who} at the consultation of {plan.date:%d/%m/%Y}."
    return plan, initial


def series_detail(request, pk: int):
    try:
        series = selectors.series_for_page(pk)
    except SessionSeries.DoesNotExist as exc:
        raise Http404("No such series.") from exc
    return render(request, "scheduling/series_detail.html", {"series": series})


# --- appointments ------------------------------------------------------------------------------


def appointment_new(request):
    """Book one appointment; the calendar's free slots link here with date, time and who prefilled."""
    patient = _patient_or_none(request)
    if patient is None:
        query = request.GET.get("q", "").strip()
        carry = {k: v for k, v in request.GET.items() if k in ("date", "time", "practitioner", "room")}
        return render(
            request,
            "scheduling/appointment_pick_patient.html",
            {
                "query": query,
                "carry": carry,
                "carry_query": urlencode(carry),
                "patients": patient_search(query)[:20] if query else [],
            },
        )
    settings_row = ClinicSettings.for_request(request)
    initial = {
        "date": _parse_date(request.GET.get("date"), selectors.local_today()),
        "time": request.GET.get("time") or "10:00",
        "minutes": settings_row.default_appointment_minutes,
        "practitioner": _parse_int(request.GET.get("practitioner")),
        "room": _parse_int(request.GET.get("room")),
    }
    form = AppointmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.book_appointment(
                patient=patient,
                practitioner=data["practitioner"],
                room=data["room"],
                starts_at=local_datetime(data["date"], data["time"]),
                kind=data["kind"],
                minutes=data["minutes"],
                notes=data["notes"],
                by=request.user,
            )
        except Refusal as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request, f"Booked {appointment.get_kind_display().lower()} for {patient.full_name}."
            )
            return redirect("scheduling:appointment_detail", pk=appointment.pk)
    return render(request, "scheduling/appointment_new.html", {"form": form, "patient": patient})


def _appointment(pk: int) -> Appointment:
    try:
        return selectors.appointment_for_page(pk)
    except Appointment.DoesNotExist as exc:
        raise Http404("No such appointment.") from exc


def appointment_detail(request, pk: int):
    appointment = _appointment(pk)
    changes = appointment.state_changes.select_related("by")
    return render(
        request,
        "scheduling/appointment_detail.html",
        {
            "appointment": appointment,
            "changes": changes,
            "actions": _actions(appointment),
            "sections": [html for section in SECTIONS if (html := section(request, appointment))],
            "messages_about": notifications.messages_about(appointment),
            "moves": _moves_for_page(appointment),
        },
    )


def _moves_for_page(appointment: Appointment) -> list[dict]:
    """Every move of the appointment, who, when, from and to (rule `shift-rest-of-series`), with names."""
    from .models import Room

    moves = selectors.moves_of(appointment)
    if not moves:
        return []
    staff = {
        p.pk: person(p)
        for p in practitioners_by_id(
            {m.from_practitioner_id for m in moves} | {m.to_practitioner_id for m in moves}
        )
    }
    rooms = dict(
        Room.objects.filter(
            pk__in={m.from_room_id for m in moves} | {m.to_room_id for m in moves}
        ).values_list("pk", "name")
    )
    return [
        {
            "at": m.at,
            "by": m.by,
            "from_start": m.from_start,
            "to_start": m.to_start,
            "from_where": f"{staff.get(m.from_practitioner_id, '')}, {rooms.get(m.from_room_id, '')}",
            "to_where": f"{staff.get(m.to_practitioner_id, '')}, {rooms.get(m.to_room_id, '')}",
        }
        for m in moves
    ]


def practitioners_by_id(ids):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk__in=ids).only("pk", "username", "first_name", "last_name")


# Other apps' parts of the appointment page: the session record of a treatment session (treatments).
SECTIONS = (consents_section.appointment_section, appointment_section.section)

STATE_ACTIONS = {
    "confirm": ("Confirmed", services.confirm_appointment),
    "arrived": ("Arrived", services.mark_arrived),
    "completed": ("Completed", services.mark_completed),
    "no_show": ("No-show", services.mark_no_show),
}


def _actions(appointment: Appointment) -> list[tuple[str, str]]:
    """The state buttons that make sense now (arrival on the day, no-show once the start has passed)."""
    allowed = services.TRANSITIONS[appointment.state]
    now = timezone.now()
    offered = [
        ("confirm", "Confirm", "confirmed", True),
        (
            "arrived",
            "Mark arrived",
            "arrived",
            to_local(appointment.starts_at).date() <= timezone.localdate(),
        ),
        ("completed", "Mark completed", "completed", True),
        ("no_show", "Mark no-show", "no_show", appointment.starts_at <= now),
    ]
    return [(action, label) for action, label, state, timely in offered if state in allowed and timely]


@require_POST
def appointment_state(request, pk: int):
    appointment = _appointment(pk)
    action = request.POST.get("action")
    if action not in STATE_ACTIONS:
        messages.error(request, "Unknown action: nothing was changed.")
        return redirect("scheduling:appointment_detail", pk=pk)
    label, service = STATE_ACTIONS[action]
    try:
        service(appointment=appointment, by=request.user)
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Marked {label.lower()}.")
    return _back(request, pk)


def _back(request, pk: int):
    target = request.POST.get("next")
    if target and target.startswith("/") and not target.startswith("//"):
        return HttpResponseRedirect(target)
    return redirect("scheduling:appointment_detail", pk=pk)


def appointment_reschedule(request, pk: int):
    """Move one appointment, or shift the rest of its series (rule `shift-rest-of-series`): the shift
    first shows every session with its new time and every clash (also by GET with `preview`, so the
    page can be linked), and moves all or nothing once the front desk confirms."""
    appointment = _appointment(pk)
    local = to_local(appointment.starts_at)
    data = request.POST or (request.GET if "preview" in request.GET else None)
    form = RescheduleForm(
        data,
        in_series=bool(appointment.series_id),
        initial={
            "date": local.date(),
            "time": local.time(),
            "practitioner": appointment.practitioner_id,
            "room": appointment.room_id,
        },
    )
    if not appointment.is_upcoming:
        messages.error(request, f"A {appointment.get_state_display().lower()} appointment cannot be moved.")
        return redirect("scheduling:appointment_detail", pk=pk)
    preview = None
    if data is not None and form.is_valid():
        data = form.cleaned_data
        starts_at = local_datetime(data["date"], data["time"])
        try:
            if data.get("shift_rest"):
                if data["practitioner"] != appointment.practitioner or data["room"] != appointment.room:
                    raise Refusal(
                        "Shifting the rest of the series keeps each session's practitioner and room: "
                        "change those one session at a time."
                    )
                preview = services.preview_shift(appointment=appointment, starts_at=starts_at)
                # Moved only as previewed: a time changed after the preview is previewed again first.
                previewed = request.POST.get("previewed") == starts_at.isoformat()
                if (
                    request.method == "POST"
                    and request.POST.get("action") == "shift"
                    and preview.ok
                    and previewed
                ):
                    moved = services.shift_rest_of_series(
                        appointment=appointment,
                        starts_at=starts_at,
                        band_reason=data.get("band_reason", ""),
                        by=request.user,
                    )
                    messages.success(
                        request,
                        f"Moved {len(moved)} sessions; the patient gets one notice listing every new time.",
                    )
                    return redirect("scheduling:appointment_detail", pk=pk)
                if not preview.ok:
                    form.add_error(None, "Some sessions cannot move as shown: nothing was moved.")
            elif request.method == "POST":
                services.reschedule_appointment(
                    appointment=appointment,
                    starts_at=starts_at,
                    practitioner=data["practitioner"],
                    room=data["room"],
                    band_reason=data.get("band_reason", ""),
                    by=request.user,
                )
                messages.success(request, "Appointment moved.")
                return redirect("scheduling:appointment_detail", pk=pk)
        except Refusal as exc:
            show_refusal(form, exc)
    return render(
        request,
        "scheduling/appointment_reschedule.html",
        {"appointment": appointment, "form": form, "preview": preview},
    )


def appointment_cancel(request, pk: int):
    appointment = _appointment(pk)
    form = CancelForm(request.POST or None, in_series=bool(appointment.series_id))
    if not appointment.is_upcoming:
        messages.error(
            request, f"A {appointment.get_state_display().lower()} appointment cannot be cancelled."
        )
        return redirect("scheduling:appointment_detail", pk=pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data.get("rest_of_series"):
                cancelled = services.cancel_rest_of_series(
                    appointment=appointment, reason=data["reason"], by=request.user
                )
                messages.success(request, f"Cancelled {len(cancelled)} sessions.")
            else:
                services.cancel_appointment(appointment=appointment, reason=data["reason"], by=request.user)
                messages.success(request, "Appointment cancelled.")
        except Refusal as exc:
            show_refusal(form, exc)
        else:
            return redirect("scheduling:appointment_detail", pk=pk)
    return render(request, "scheduling/appointment_cancel.html", {"appointment": appointment, "form": form})


def protocol(request):
    """The protocol bands as the planner uses them (read-only; clinic admin edits them in the admin)."""
    return render(
        request,
        "scheduling/protocol.html",
        {"bands": ProtocolBand.objects.all()},
    )
