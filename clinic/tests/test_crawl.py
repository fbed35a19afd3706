"""The crawl: every URL the resolver knows (clinic/tests/test_access.py's `named_urls`), with the real
primary key of every object of the right kind from the every-state demo (clinic/demo.py, the same
builder as `manage.py demo_data`), as each role and anonymous, with and without `HX-Request`; then an
empty and a mangled POST to each. It asserts, on every answer:

- no 5xx;
- no raw template syntax: a `{#`, `{%` or `{{` in an HTML body is a template that failed to parse
  (a `{# #}` comment over two lines, a tag with a typo) or text marked safe that should not be.
  The hostile patient names put those very strings into the data on purpose, so they must also
  come out as text: the body is checked after removing the known data tokens (DATA_TOKENS), raw or
  HTML-escaped, and `test_no_template_uses_the_data_tokens` makes sure no template of ours contains
  one of them, so removing them can never hide a broken template;
- the hostile names' markup never comes out unescaped;
- no internal code in parentheses ("(Q4)", "(L9, Q3, Q4)": clinic/tests/plain_language.py);
- no template variable that failed to resolve: the crawl renders with
  TEMPLATES' `string_if_invalid` set to INVALID, which must never appear.

Appointments are visited one per kind of situation (state, kind, series, who made the last change,
session record, past or future; see `appointment_shape`): the next open day holds many more of the
same shape, and visiting them all would only slow the crawl.
"""

import copy
import datetime
import re
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from clinic.access import ACCESS_TABLE
from clinic.demo import build_every_state, create_demo_users
from clinic.roles import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER
from clinic.tests.plain_language import internal_codes
from clinic.tests.test_access import named_urls
from consents.models import ConsentTemplate, PatientConsent
from outbox.kinds import registered_kinds
from outbox.models import OutboxMessage
from patients.models import ErasureRequest, Patient
from photos.models import ClinicalPhoto, PhotoArea
from scheduling import email_links
from scheduling.models import Appointment, SessionSeries
from scheduling.selectors import stranded_appointment_ids
from treatments.models import Consultation, Formulation, SessionRecord, StockLot

# Every test runs in a savepoint of the module's every-state transaction (see `every_state`).
pytestmark = pytest.mark.django_db
INVALID = "!!INVALID-TEMPLATE-VARIABLE!!"
# The template-like parts of the every-state data (patients.demo.NAMED_PATIENTS and the notes of
# the demo's appointments, addenda and patients). No template of ours may contain them.
DATA_TOKENS = ["{{ x }}", "{% now 'Y' %}", "{# note #}", "{{ notes }}", "{{ fine }}"]
RAW_TEMPLATE = re.compile(r"\{[{%#]")
# The hostile names' markup, as it would appear if a page let it through unescaped.
HOSTILE_MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]
ROLES = {
    PRACTITIONER: "practitioner",
    FRONT_DESK: "frontdesk",
    CLINIC_ADMIN: "admin",
    "anonymous": None,
}
# A POST with every common field name given nonsense: forms must refuse it with a message.
MANGLED = {
    "action": "nonsense",
    "date": "31/02/2026",
    "time": "25:99",
    "starts_at": "yesterday",
    "patient": "not-a-number",
    "practitioner": "-1",
    "room": "99999999",
    "reason": "",
    "text": "",
    "q": "<script>alert(1)</script>",
    "volume_ml": "-3",
    "total_volume_ml": "abc",
    "decision": "maybe",
    "plan_session_count": "1000",
    "email": "not-an-address",
    "date_of_birth": "2999-01-01",
    "form-TOTAL_FORMS": "x",
}
# Query strings each page reads (scheduling/views.py, patients/views.py, treatments/views.py...),
# good and mangled; every URL also gets JUNK_QUERY once.
JUNK_QUERY = (
    "?date=junk&page=junk&before=junk&view=junk&who=x&room=x&patient=x&q=%7B%7B+x+%7D%7D&kind=zz&state=zz"
)


def extra_queries(data):
    day = data["next_open_day"]["day"].isoformat()
    patient = data["patients"]["folded"].pk
    stranded_day = timezone.localtime(data["appointments"]["stranded_by_leave"].starts_at).date()
    stranded, stranded_next = (
        stranded_day.isoformat(),
        (stranded_day + datetime.timedelta(days=1)).isoformat(),
    )
    week_after = (data["next_open_day"]["day"] + datetime.timedelta(days=7)).isoformat()
    practitioner = data["appointments"]["stranded_by_leave"].practitioner_id
    return {
        "scheduling:calendar": [
            f"?view=day&date={day}",
            f"?view=week&date={day}",
            f"?view=day&by=room&date={day}",
        ],
        "scheduling:day_list": [f"?date={day}"],
        # The board and its feed: the next open day, and the day of the booking stranded by leave.
        "scheduling:calendar_board": [
            f"?view=day&date={day}",
            f"?view=week&by=room&date={stranded}",
            f"?view=agenda&kind=treatment&practitioner={practitioner}&date={day}",
        ],
        "scheduling:calendar_feed": [
            f"?start={day}&end={week_after}",
            f"?start={stranded}&end={stranded_next}&by=room",
            f"?start={stranded}&end={stranded_next}&kind=treatment&room=x",
        ],
        # The folded-name patient's consent is valid; the planner's consent line when it is not, too.
        "scheduling:plan": [
            f"?patient={patient}",
            f"?patient={data['consents']['withdrawn'].patient_id}",
            f"?patient={data['consents']['expired'].patient_id}",
            "?q=jorgen",
        ],
        "scheduling:appointment_new": [f"?patient={patient}&date={day}&time=10:00", "?q=ivan"],
        "patients:list": ["?q=jorgen", "?q=%3Cscript%3E", "?archived=1", "?q=%7B%7B+x+%7D%7D"],
        "clinic:outbox_list": [f"?state={state}" for state in OutboxMessage.State.values],
        "scheduling:appointment_reschedule": _shift_previews(data),
        # Every lot's number (fresh, expiring, expired, used up, from old records, recalled).
        "treatments:recall": [f"?q={quote(n)}" for n in StockLot.objects.values_list("lot_number", flat=True)]
        + ["?q=RC-2611&page=2", "?q=nothing-like-this"],
        "treatments:recall_export": ["?q=RC-2611", "?q=%3D1%2B1"],
        "clinic:access_log": [
            f"?patient={patient}",
            f"?user={data['users_by_name']['practitioner'].pk}",
            "?page=2",
        ],
        "patients:erasure_list": ["?page=2"],
    }


def _shift_previews(data) -> list[str]:
    """The shift of the rest of the series' preview (issue 15): the first appointment crawled for the
    reschedule page is a series session (url_arguments), moved a day later."""
    series = data["appointments"]["series"]
    if series is None:
        return []
    first = _series_first(Appointment.objects.order_by("pk"))
    moved = timezone.localtime(first.starts_at) + datetime.timedelta(days=1)
    return [
        f"?preview=1&date={moved:%Y-%m-%d}&time={moved:%H:%M}&practitioner={first.practitioner_id}"
        f"&room={first.room_id}&shift_rest=on"
    ]


def _series_first(appointments):
    """The first upcoming series session: the reschedule page's first object (its preview is crawled)."""
    return next(
        (a for a in appointments if a.series_id and a.is_upcoming and a.starts_at > timezone.now()), None
    )


def appointment_shape(appointment) -> tuple:
    last = appointment.state_changes.order_by("-id").first()
    return (
        appointment.state,
        appointment.kind,
        bool(appointment.series_id),
        last is not None and last.by_id is None,
        hasattr(appointment, "session_record"),
        appointment.starts_at > timezone.now(),
        bool(stranded_appointment_ids([appointment])),
    )


def url_arguments(data) -> dict[str, list[dict]]:
    """Every object of the right kind for each URL that takes arguments."""
    patients = list(Patient.objects.order_by("pk"))
    consultations = [{"pk": pk} for pk in Consultation.objects.values_list("pk", flat=True)]
    formulations = list(Formulation.objects.order_by("pk"))
    sessions = [{"pk": pk} for pk in SessionRecord.objects.values_list("pk", flat=True)]
    shapes = {}
    for appointment in Appointment.objects.order_by("pk"):
        shapes.setdefault(appointment_shape(appointment), appointment)
    appointments = list(shapes.values())
    messages = [{"pk": pk} for pk in OutboxMessage.objects.values_list("pk", flat=True)]
    by_patient = [{"patient_id": p.pk} for p in patients]
    erasures = [{"pk": pk} for pk in ErasureRequest.objects.order_by("pk").values_list("pk", flat=True)]
    by_pk = [{"pk": p.pk} for p in patients]
    staff = list(User.objects.filter(is_active=True).order_by("pk"))
    consents = [{"pk": pk} for pk in PatientConsent.objects.values_list("pk", flat=True)]
    photos = list(ClinicalPhoto.objects.order_by("pk"))
    photographed = sorted({(p.patient_id, p.area) for p in photos})
    # Each photographed area, plus one without photos, for every patient who has some.
    areas = [{"patient_id": pid, "area": area} for pid, area in photographed]
    areas += [{"patient_id": pid, "area": PhotoArea.SCALP} for pid in sorted({p.patient_id for p in photos})]
    return {
        "consents:template_detail": [
            {"pk": pk} for pk in ConsentTemplate.objects.values_list("pk", flat=True)
        ],
        "consents:patient": by_patient,
        "consents:sign": by_patient,
        "consents:detail": consents,
        "consents:signature": [
            {**c, "who": who} for c in consents for who in ("patient", "practitioner", "x")
        ],
        "consents:pdf": consents[:3],
        "consents:email": consents,
        "consents:withdraw": consents,
        "consents:withdraw_photos": consents,
        "photos:patient": by_patient,
        "photos:release": by_patient,
        "photos:timeline": areas,
        "photos:compare": areas,
        "photos:session": sessions + [{"pk": p.session_record_id} for p in photos],
        "photos:image": [{"pk": p.pk, "size": size} for p in photos for size in ("full", "thumb")],
        "patients:detail": by_pk,
        "patients:edit": by_pk,
        "patients:screening": by_pk,
        "patients:archive": by_pk,
        "patients:restore": by_pk,
        "patients:export": by_pk,
        "patients:export_fhir": by_pk[:3],
        "patients:export_raw": by_pk[:3],
        "patients:erasure_new": by_pk,
        "patients:erasure_detail": erasures,
        "patients:erasure_decide": erasures,
        "treatments:timeline": by_patient,
        "treatments:consultation_create": by_patient,
        "treatments:consultation_detail": consultations,
        "treatments:consultation_edit": consultations,
        "treatments:consultation_sign": consultations,
        "treatments:addendum_add": consultations,
        "treatments:formulation_create": [{"consultation_id": c["pk"]} for c in consultations],
        "treatments:formulation_detail": [{"pk": f.pk} for f in formulations],
        "treatments:formulation_revise": [{"pk": f.pk} for f in formulations],
        "treatments:formulation_diff": [
            {"pk": f.previous_id, "other_pk": f.pk} for f in formulations if f.previous_id
        ],
        "treatments:session_create": [{"formulation_id": f.pk} for f in formulations],
        "treatments:appointment_session": [{"appointment_id": a.pk} for a in appointments],
        "treatments:session_detail": sessions,
        "treatments:session_edit": sessions,
        "treatments:session_done": sessions,
        "treatments:session_map": sessions,
        "treatments:session_correction_add": sessions,
        "treatments:lot_recall": [{"pk": pk} for pk in StockLot.objects.values_list("pk", flat=True)],
        "scheduling:appointment_detail": [{"pk": a.pk} for a in appointments],
        "scheduling:appointment_state": [{"pk": a.pk} for a in appointments],
        "scheduling:appointment_reschedule": [
            {"pk": a.pk}
            for a in sorted(
                appointments, key=lambda a: a.pk != getattr(_series_first(appointments), "pk", None)
            )
        ],
        "scheduling:appointment_cancel": [{"pk": a.pk} for a in appointments],
        "scheduling:series_detail": [{"pk": pk} for pk in SessionSeries.objects.values_list("pk", flat=True)],
        "scheduling:email_confirm": [
            {"token": email_links.appointment_token(a, email_links.CONFIRM)} for a in appointments
        ],
        "scheduling:email_cancel": [
            {"token": email_links.appointment_token(a, email_links.CANCEL)} for a in appointments
        ],
        "scheduling:email_unsubscribe": [{"token": email_links.unsubscribe_token(p)} for p in patients],
        "clinic:outbox_detail": messages,
        "clinic:outbox_body": messages,
        "clinic:outbox_retry": messages,
        "clinic:email_template_html": [{"kind": kind} for kind in registered_kinds()],
        "password_reset_confirm": [{"uidb64": "MQ", "token": "bad-token"}],
        "staff_unlock": [{"pk": u.pk} for u in staff],
        "staff_reset_second_factor": [{"pk": u.pk} for u in staff],
    }


def crawl_templates():
    """TEMPLATES with the marker for variables that fail to resolve."""
    templates = copy.deepcopy(settings.TEMPLATES)
    for engine in templates:
        engine.setdefault("OPTIONS", {})["string_if_invalid"] = INVALID
    return templates


@pytest.fixture(scope="module")
def every_state(django_db_setup, django_db_blocker):
    """The every-state demo, built once for the module inside a transaction rolled back at its end;
    each test runs in a savepoint of it (pytest-django's `db`), so what one test's POST changes the
    next test does not see."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), transaction.atomic(), fast:
        users = create_demo_users()
        data = build_every_state(users=users)
        data["users_by_name"] = users
        data["users"] = {role: users[name] if name else None for role, name in ROLES.items()}
        data["arguments"] = url_arguments(data)
        data["queries"] = extra_queries(data)
        yield data
        transaction.set_rollback(True)


@pytest.fixture
def crawl_settings(settings):
    settings.TEMPLATES = crawl_templates()
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False


def problems_in(response, what: str) -> list[str]:
    """What is wrong with one answer: an error status, raw template text, codes, unresolved variables."""
    found = []
    if response.status_code >= 500:
        found.append(f"{what}: HTTP {response.status_code}")
    if "html" not in response.get("Content-Type", ""):
        return found
    body = response.content.decode()
    if INVALID in body:
        at = body.index(INVALID)
        found.append(f"{what}: a variable failed to resolve: …{body[max(at - 120, 0) : at + 40]!r}…")
    found += [f"{what}: unescaped {markup!r}" for markup in HOSTILE_MARKUP if markup in body]
    for token in DATA_TOKENS:
        body = body.replace(escape(token), "").replace(token, "")
    for match in RAW_TEMPLATE.finditer(body):
        found.append(f"{what}: raw template text …{body[max(match.start() - 80, 0) : match.end() + 60]!r}…")
        break
    codes = internal_codes(re.sub(r"<[^>]+>", " ", body))
    if codes:
        found.append(f"{what}: internal codes {codes}")
    return found


CRAWLED = sorted(ACCESS_TABLE)


def test_every_url_with_arguments_is_crawled(every_state):
    needs_arguments = set()
    for name in named_urls():
        try:
            reverse(name)
        except Exception:
            needs_arguments.add(name)
    missing = sorted(needs_arguments - every_state["arguments"].keys())
    assert missing == [], f"give the crawl the objects for these URLs (url_arguments): {missing}"
    empty = sorted(name for name, kwargs in every_state["arguments"].items() if not kwargs)
    assert empty == [], f"the every-state demo has no object for: {empty}"


def test_the_every_state_demo_holds_every_state(every_state):
    states = set(Appointment.objects.values_list("state", flat=True))
    assert states == {"booked", "confirmed", "arrived", "completed", "cancelled", "no_show"}
    by_link = Appointment.objects.filter(state_changes__by__isnull=True)
    assert {"confirmed", "cancelled"} <= set(by_link.values_list("state", flat=True))
    decisions = set(Consultation.objects.values_list("decision", flat=True))
    assert decisions == {"", "eligible", "not_eligible", "deferred"}
    assert Consultation.objects.filter(signed_at__isnull=True).exists()
    assert Consultation.objects.exclude(override_reason="").exists()
    assert Consultation.objects.filter(addenda__isnull=False).exists()
    assert Formulation.objects.filter(session_records__isnull=True).exists()
    assert Formulation.objects.filter(session_records__isnull=False).exists()
    assert Formulation.objects.filter(lines__override_reason__gt="").exists()
    assert {True, False} == {r.is_done for r in SessionRecord.objects.all()}
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == set(OutboxMessage.State.values)
    assert Patient.objects.filter(archived_at__isnull=False).exists()
    assert Patient.objects.filter(email="").exists()
    assert Patient.objects.filter(email_consent=False).exclude(email="").exists()
    from scheduling.selectors import stranded_appointment_ids

    assert every_state["appointments"]["stranded"].pk in stranded_appointment_ids(Appointment.objects.all())

    # Consents signed and valid, withdrawn, expired, declining photos, photo consent withdrawn; photos
    # shown, hidden and released; patients with no consent at all.
    consents = every_state["consents"]
    assert consents["valid"].photos_allowed and consents["withdrawn"].is_withdrawn
    assert PatientConsent.objects.filter(photos_withdrawn_at__isnull=False).exists()
    assert PatientConsent.objects.filter(photos_clinical=False).exists()
    assert Patient.objects.filter(consents__isnull=True).exists()
    assert ConsentTemplate.objects.count() >= 2
    from photos.selectors import photo_state

    photos = every_state["photos"]
    assert photo_state(photos["hidden"].patient_id).hidden
    assert photo_state(photos["released"].patient_id).release is not None
    assert not photo_state(photos["shown"][0].patient_id).hidden
    assert set(ErasureRequest.objects.values_list("state", flat=True)) == set(ErasureRequest.State.values)
    assert Patient.objects.filter(pseudonymised_at__isnull=False).exists()


def test_no_template_uses_the_data_tokens():
    """So that removing DATA_TOKENS from a body can never hide a template's own raw text."""
    from pathlib import Path

    for folder in settings.TEMPLATES[0]["DIRS"]:
        for template in Path(folder).rglob("*.html"):
            text = template.read_text()
            assert not [token for token in DATA_TOKENS if token in text], template


def _requests(data, url_name):
    """(url, also_post): each object's page, and the first one's with the query strings it reads."""
    arguments = data["arguments"].get(url_name, [{}])
    queries = [JUNK_QUERY, *data["queries"].get(url_name, [])]
    for number, kwargs in enumerate(arguments):
        url = reverse(url_name, kwargs=kwargs)
        yield url, number == 0
        if number == 0:
            for query in queries:
                yield url + query, False


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("url_name", CRAWLED)
def test_crawl(client, every_state, crawl_settings, url_name, role):
    """GET every object's page with and without HX-Request; POST empty and mangled data to the
    first object's (a POST that succeeds changes the data, which the next test's savepoint undoes)."""
    if url_name == "logout":
        return  # logging out ends the crawl's session; clinic/tests/test_auth.py covers it
    user = every_state["users"][role]
    if user is not None:
        client.force_login(user)
    found = []
    posts = []
    for url, also_post in _requests(every_state, url_name):
        for headers in ({}, {"HX-Request": "true"}):
            found += problems_in(client.get(url, headers=headers), f"GET {url} {headers or ''}")
        if also_post:
            posts.append(url)
    for url in posts:
        for data in ({}, MANGLED):
            found += problems_in(client.post(url, data), f"POST {url} {'mangled' if data else 'empty'}")
    assert found == [], "\n".join(found)
