"""The demo clinic's people and the every-state part of the demo, shared by `manage.py demo_data` and
the crawl test's fixture (clinic/tests/test_crawl.py): one builder, so what the crawl visits is what
a person trying the demo sees."""

import datetime

from django.contrib.auth.models import Group, User
from django.utils import timezone

from clinic.roles import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER
from outbox.models import OutboxMessage
from patients.models import Patient

DEMO_PASSWORD = "mesoclinic"
DEMO_USERS = [
    # username, first, last, role, superuser
    ("admin", "Alex", "Admin", CLINIC_ADMIN, True),
    ("practitioner", "Inês", "Moura", PRACTITIONER, False),
    ("frontdesk", "Rita", "Carvalho", FRONT_DESK, False),
    ("practitioner2", "Tomás", "Figueira", PRACTITIONER, False),
    ("practitioner3", "Chloé", "Durand", PRACTITIONER, False),
]


def create_demo_users() -> dict[str, User]:
    """The demo logins (password DEMO_PASSWORD), by username."""
    users = {}
    for username, first, last, role, superuser in DEMO_USERS:
        user = User.objects.create_user(
            username,
            email=f"{username}@mesoclinic.test",
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
            is_staff=superuser,
            is_superuser=superuser,
        )
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    return users


def _outbox_in_every_state(now: datetime.datetime) -> dict[str, OutboxMessage]:
    """The bookings queued pending reminders and the cancellations cancelled some; four of the pending
    ones are put as the dispatcher (or a cancellation) would leave them: sending, sent, failed, cancelled."""
    pending = list(OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).order_by("id")[:4])
    states = {"sending": {"lease_until": now + datetime.timedelta(minutes=5), "attempts": 1}}
    states["sent"] = {"sent_at": now - datetime.timedelta(hours=1), "attempts": 1}
    states["failed"] = {"attempts": 5, "last_error": "SMTP 550 5.1.1 Mailbox unavailable"}
    states["cancelled"] = {"last_error": "The appointment was cancelled."}
    for message, (state, fields) in zip(pending, states.items(), strict=False):
        OutboxMessage.objects.filter(pk=message.pk).update(state=state, **fields)
    return {state: OutboxMessage.objects.filter(state=state).first() for state in OutboxMessage.State.values}


def _data_rights_in_every_state(patients: dict, clinical: dict, users: dict, now) -> dict:
    """Reads in the access log (one from an address and browser that are hostile text), and an erasure
    request in each state: waiting, refused, contact details erased with clinical records kept, and
    pseudonymised (the retention period over), the last two with a signed consultation."""
    from clinic.audit import log_read_by
    from patients import gdpr
    from patients.services import register_patient
    from treatments import services as treatments_services

    practitioner, admin, front_desk = users["practitioner"], users["admin"], users["frontdesk"]
    for key in ("script", "cjk", "folded"):
        log_read_by(practitioner, patient=patients[key], what="patient_page", ip_address="192.0.2.10")
    log_read_by(
        practitioner,
        patient=patients["script"],
        what="consultation",
        obj=clinical["eligible_script"],
        ip_address="2001:db8::7",
        user_agent="<script>alert(1)</script> Mozilla/5.0",
    )
    log_read_by(
        admin, patient=patients["folded"], what="export", ip_address="192.0.2.11", user_agent="Firefox"
    )
    born = timezone.localdate(now).replace(year=timezone.localdate(now).year - 40)
    made = {}
    for key, given, family in (
        ("pending", "Paula", "Pedido"),
        ("refused", "Rafael", "Recusado"),
        ("kept", "Carla", "Guardada"),
        ("done", "Pedro", "Pseudónimo"),
    ):
        patient = register_patient(
            by=front_desk,
            given_name=given,
            family_name=family,
            date_of_birth=born,
            email=f"{given.lower()}@example.com",
            email_consent=True,
            notes="Prefers mornings.",
        )
        if key in ("kept", "done"):
            consultation = treatments_services.start_consultation(
                patient=patient, by=practitioner, decision="not_eligible", decision_reason="Pregnancy."
            )
            treatments_services.sign_consultation(consultation=consultation, by=practitioner)
        erasure = gdpr.request_erasure(patient=patient, by=front_desk, how_asked="By e-mail to the clinic")
        if key == "refused":
            erasure = gdpr.decide_erasure(
                erasure=erasure, by=admin, approve=False, reason="Asked by someone else on her behalf."
            )
        elif key in ("kept", "done"):
            erasure = gdpr.decide_erasure(
                erasure=erasure, by=admin, approve=True, reason="The patient's right."
            )
        if key == "done":
            erasure = gdpr.pseudonymise(erasure, by=admin)
        made[key] = erasure
    return made


def build_every_state(*, users: dict[str, User], now: datetime.datetime | None = None) -> dict:
    """At least one object in each state the models allow (see each app's `build_states`), with the
    hard names of patients.demo.NAMED_PATIENTS, and a believable next open day. Returns them by app."""
    from consents import demo as consents_demo
    from patients import demo as patients_demo
    from photos import demo as photos_demo
    from scheduling import demo as scheduling_demo
    from treatments import demo as treatments_demo

    now = now or timezone.now()
    practitioner, front_desk = users["practitioner"], users["frontdesk"]
    patients = patients_demo.build_states(by=front_desk, today=timezone.localdate(now))
    clinical = treatments_demo.build_states(patients=patients, practitioner=practitioner, now=now)
    photos = photos_demo.build_states(
        patients=patients, clinical=clinical, practitioner=practitioner, admin=users["admin"], now=now
    )
    consents = consents_demo.build_states(
        patients=patients, practitioner=practitioner, admin=users["admin"], now=now
    )
    appointments = scheduling_demo.build_states(
        patients=patients, practitioner=practitioner, front_desk=front_desk, now=now
    )
    # The day's list goes to the clinic's ordinary patients when there are some (the demo's).
    active = list(Patient.objects.active().order_by("id")[:80])
    next_day = scheduling_demo.build_next_open_day(now=now, patients=active, by=front_desk)
    outbox = _outbox_in_every_state(now)
    sign_in = _sign_in_in_every_state(users)
    data_rights = _data_rights_in_every_state(patients, clinical, users, now)
    return {
        "data_rights": data_rights,
        "patients": patients,
        "clinical": clinical,
        "photos": photos,
        "consents": consents,
        "appointments": appointments,
        "next_open_day": next_day,
        "outbox": outbox,
        "sign_in": sign_in,
    }


def _sign_in_in_every_state(users: dict[str, User]) -> dict:
    """For the staff sign-in page: one colleague with an authenticator app (practitioner2, not a
    README demo login: signing in as them needs the app) and a change in the audit with its notice."""
    from django.db import transaction
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinic.models import SecurityEvent
    from clinic.security import record_security_event

    device = TOTPDevice.objects.create(user=users["practitioner2"], name="Authenticator app", confirmed=True)
    with transaction.atomic():
        event = record_security_event(users["practitioner2"], SecurityEvent.Kind.TOTP_ENROLLED)
    return {"device": device, "event": event}
