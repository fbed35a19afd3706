"""Django's admin over the every-state demo: each registered model's list and the page of one of its
objects open for a superuser; records only the app's services write refuse adding, changing and
deleting (history reverts included); no page here shows a signature or a photo, and opening a clinical
record here is logged as in the app. Every model of the project is either registered or named in
NOT_IN_ADMIN with the reason, so that a new model is a decision."""

import datetime
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from clinic import audit_chain
from clinic.admin import NoWrites, ReadOnlyAdmin
from clinic.demo import build_every_state, create_demo_users
from clinic.models import AccessLogEntry, StaffSession
from consents.models import ConsentTemplate, PatientConsent
from photos.models import ClinicalPhoto
from scheduling.models import Closure
from treatments.models import InjectionZone, StockLot

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("clinic", "consents", "outbox", "patients", "photos", "scheduling", "treatments")
# An image other than the admin's own icons.
IMAGE_NOT_STATIC = re.compile(r'<img(?![^>]*src="/static/)')
SESSION_KEY = "k3y0fas1gnedinsess10nn0tt0beshownanywhere"[:40]
# Models of the project with no admin of their own, and why.
NOT_IN_ADMIN = {
    "clinic.ClinicSettings": "edited on the app's Settings page, which retires the cached copy",
    "clinic.Counter": "hands out chart numbers; never set by hand",
    "clinic.AuditPending": "the sealer's queue: each row waits a few seconds, then is an audit chain link",
    "patients.Patient": "the patient pages log clinical reads and the services keep the search keys",
    "patients.Screening": "clinical; read and written on the patient's screening page (logged)",
    "patients.ScreeningAnswer": "part of a screening",
    "patients.AllergenGroup": "seeded with the catalogue; screenings and formulations refer to them",
    "outbox.OutboxEvent": "the events of a message, shown on its page under Messages",
    "treatments.ConsultationAnswer": "shown inline on its consultation",
    "treatments.FormulationLine": "shown inline on its formulation",
    "treatments.SessionLot": "shown inline on its session record",
    "treatments.InjectionZone": "shown inline on its session record",
}


@pytest.fixture(scope="module")
def every_state(django_db_setup, django_db_blocker):
    """The every-state demo once for the module, rolled back at its end (as clinic/tests/test_crawl.py)."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), transaction.atomic(), fast:
        users = create_demo_users()
        data = build_every_state(users=users)
        _a_correction(data, users)
        Closure.objects.create(date=datetime.date(2099, 12, 25), reason="Christmas Day")
        StaffSession.objects.create(
            session_key=SESSION_KEY,
            user=users["frontdesk"],
            started_at=timezone.now(),
            ip_address="192.0.2.1",
        )
        # The sealer (beat, every few seconds) never runs here.
        audit_chain.seal_everything(audit_chain.chain_models())
        data["superuser"] = users["admin"]
        yield data
        transaction.set_rollback(True)


def _a_correction(data, users) -> None:
    """A correction of a done session, if the demo has none."""
    from treatments import services
    from treatments.models import SessionCorrection, SessionRecord

    if not SessionCorrection.objects.exists():
        record = SessionRecord.objects.filter(done_at__isnull=False).order_by("pk").first()
        services.add_session_correction(
            session_record=record, by=users["practitioner"], what="Volume", why="Typed 3 mL for 2 mL."
        )


def project_admins():
    return sorted(
        (
            (f"{model._meta.app_label}.{model.__name__}", model, model_admin)
            for model, model_admin in admin.site._registry.items()
            if model._meta.app_label in PROJECT_APPS
        ),
        key=lambda row: row[0],
    )


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_project_model_is_in_the_admin_or_says_why_not():
    registered = {label for label, _, _ in project_admins()}
    models = {
        f"{m._meta.app_label}.{m.__name__}"
        for name in PROJECT_APPS
        for m in apps.get_app_config(name).get_models()
        if not m.__name__.startswith("Historical")
    }
    missing = sorted(models - registered - NOT_IN_ADMIN.keys())
    assert missing == [], f"register these models in an admin.py, or say why not in NOT_IN_ADMIN: {missing}"
    assert not registered & NOT_IN_ADMIN.keys()


@pytest.mark.parametrize(
    ("label", "model", "model_admin"), project_admins(), ids=[label for label, _, _ in project_admins()]
)
def test_the_list_and_a_page_of_each_model_open_for_a_superuser(
    every_state, client, label, model, model_admin
):
    client.force_login(every_state["superuser"])
    listing = client.get(_url(model, "changelist"))
    assert listing.status_code == 200, label
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"the every-state demo has no {label}"
    page = client.get(_url(model, "change", quote(obj.pk)))
    assert page.status_code == 200, label
    if hasattr(model_admin, "history_view"):
        assert client.get(_url(model, "history", quote(obj.pk))).status_code == 200, label


READ_ONLY = [label for label, _, model_admin in project_admins() if isinstance(model_admin, NoWrites)]


def test_the_records_the_app_alone_writes_are_read_only_here():
    expected = {
        "clinic.AccessLogEntry",
        "clinic.AuditHead",
        "clinic.AuditLink",
        "clinic.AuditRedaction",
        "clinic.SecurityEvent",
        "clinic.StaffSession",
        "consents.ConsentTemplate",
        "consents.PatientConsent",
        "patients.ErasureRequest",
        "photos.ClinicalPhoto",
        "photos.PhotoRelease",
        "treatments.Addendum",
        "treatments.SessionCorrection",
    }
    assert expected <= set(READ_ONLY)


@pytest.mark.parametrize("label", READ_ONLY)
def test_read_only_records_refuse_adding_changing_and_deleting(every_state, client, label):
    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    client.force_login(every_state["superuser"])
    obj = model._default_manager.order_by("pk").first()
    before = model._default_manager.filter(pk=obj.pk).values().get()
    add = client.get(_url(model, "add"))
    if model is ConsentTemplate:
        # A new wording is a new version, saved from the app's page (with the current wording in it).
        assert add.status_code == 302 and add.url == reverse("consents:template_new")
    else:
        assert add.status_code == 403, label
        assert client.post(_url(model, "add"), {}).status_code == 403, label
    change = client.get(_url(model, "change", quote(obj.pk)))
    assert 'name="_save"' not in change.text, label
    assert client.post(_url(model, "change", quote(obj.pk)), {}).status_code == 403, label
    assert client.get(_url(model, "delete", quote(obj.pk))).status_code == 403, label
    assert client.post(_url(model, "delete", quote(obj.pk)), {"post": "yes"}).status_code == 403, label
    changelist = client.post(
        _url(model, "changelist"), {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    )
    assert changelist.status_code in (200, 302, 403), label
    if isinstance(model_admin, ReadOnlyAdmin):
        # django-simple-history saves the posted form of an old version (a revert) on view permission.
        history = model.history.filter(**{model._meta.pk.attname: obj.pk}).first()
        url = _url(model, "simple_history", quote(obj.pk), history.history_id)
        assert client.post(url, {}).status_code == 403, label
    assert model._default_manager.filter(pk=obj.pk).values().get() == before, label


def test_no_admin_page_shows_a_signature_a_photo_or_a_session_key(every_state, client):
    client.force_login(every_state["superuser"])
    session = StaffSession.objects.get(session_key=SESSION_KEY)
    assert SESSION_KEY not in client.get(_url(StaffSession, "changelist")).text
    assert SESSION_KEY not in client.get(_url(StaffSession, "change", session.pk)).text
    consent = PatientConsent.objects.order_by("pk").first()
    page = client.get(_url(PatientConsent, "change", consent.pk)).text
    for file in (consent.patient_signature, consent.practitioner_signature):
        assert file.name and file.name not in page
    assert reverse("consents:detail", args=[consent.pk]) in page  # the page that shows them, logged
    photo = ClinicalPhoto.objects.order_by("pk").first()
    page = client.get(_url(ClinicalPhoto, "change", photo.pk)).text
    assert photo.image.name not in page and photo.thumbnail.name not in page
    assert not IMAGE_NOT_STATIC.search(page)
    listing = client.get(_url(ClinicalPhoto, "changelist")).text
    assert photo.image.name not in listing
    assert not IMAGE_NOT_STATIC.search(listing)
    for model in (PatientConsent, ClinicalPhoto):  # nor any image or file field on the page itself
        page = client.get(_url(model, "change", model._default_manager.order_by("pk").first().pk)).text
        assert 'type="file"' not in page and not IMAGE_NOT_STATIC.search(page)


def test_opening_a_clinical_record_here_is_logged(every_state, client):
    user = every_state["superuser"]
    client.force_login(user)
    consent = PatientConsent.objects.order_by("pk").first()
    photo = ClinicalPhoto.objects.order_by("pk").first()
    from treatments.models import Consultation, SessionCorrection

    consultation = Consultation.objects.order_by("pk").first()
    correction = SessionCorrection.objects.order_by("pk").first()
    logged = AccessLogEntry.objects.filter(user=user)
    before = logged.count()
    client.get(_url(PatientConsent, "changelist"))
    assert logged.count() == before  # a list names records without their content
    cases = [
        (_url(PatientConsent, "change", consent.pk), consent.patient_id, "consent", consent.pk),
        (_url(ClinicalPhoto, "change", photo.pk), photo.patient_id, "photo", photo.pk),
        (
            _url(Consultation, "change", consultation.pk),
            consultation.patient_id,
            "consultation",
            consultation.pk,
        ),
        (
            _url(Consultation, "history", consultation.pk),
            consultation.patient_id,
            "consultation",
            consultation.pk,
        ),
        (
            _url(SessionCorrection, "change", correction.pk),
            correction.session_record.patient_id,
            "session_record",
            correction.session_record_id,
        ),
    ]
    for url, patient_id, what, object_id in cases:
        assert client.get(url).status_code == 200
        entry = logged.order_by("-id").first()
        assert (entry.patient_id, entry.what, entry.object_id) == (patient_id, what, object_id), url


def test_stock_lots_are_received_in_the_app_and_corrected_here(every_state, client):
    client.force_login(every_state["superuser"])
    add = client.get(_url(StockLot, "add"))
    assert add.status_code == 302 and add.url == reverse("treatments:stock_receive")
    mapped = InjectionZone.objects.filter(stock_lot__isnull=False).values("stock_lot")
    unused = (
        StockLot.objects.filter(from_old_records=False, uses__isnull=True)
        .exclude(pk__in=mapped)
        .order_by("pk")
        .first()
    )
    page = client.get(_url(StockLot, "change", unused.pk))
    assert 'name="lot_number"' in page.text and 'name="quantity_remaining"' in page.text
    data = {
        "ingredient": unused.ingredient_id,
        "lot_number": unused.lot_number,
        "expiry_date": unused.expiry_date.isoformat(),
        "quantity_received": str(unused.quantity_received),
        "quantity_remaining": str(unused.quantity_received + 1),
        "supplier": "Corrected supplier",
        "received_on": unused.received_on.isoformat() if unused.received_on else "",
        "_save": "Save",
    }
    refused = client.post(_url(StockLot, "change", unused.pk), data)
    assert refused.status_code == 200 and "A lot cannot hold more than was received." in refused.text
    saved = client.post(_url(StockLot, "change", unused.pk), data | {"quantity_remaining": "0"})
    assert saved.status_code == 302
    unused.refresh_from_db()
    assert unused.supplier == "Corrected supplier" and unused.quantity_remaining == 0
    assert unused.history.first().history_user == every_state["superuser"]
    used = StockLot.objects.filter(uses__isnull=False).order_by("pk").first()
    page = client.get(_url(StockLot, "change", used.pk)).text
    assert 'name="lot_number"' not in page and 'name="ingredient"' not in page  # the records cite them
    assert client.get(_url(StockLot, "delete", used.pk)).status_code == 403
    assert client.get(_url(StockLot, "delete", unused.pk)).status_code == 200


def test_a_new_consent_wording_from_the_admin_is_a_new_version(every_state, client):
    client.force_login(every_state["superuser"])
    current = ConsentTemplate.objects.order_by("-version").first()
    form = client.get(client.get(_url(ConsentTemplate, "add")).url)
    assert form.status_code == 200 and current.title in form.text
    signed = ConsentTemplate.objects.filter(signed_consents__isnull=False).first()
    assert client.post(_url(ConsentTemplate, "change", signed.pk), {"title": "x"}).status_code == 403


def test_an_old_version_is_never_saved_back_over_a_record(every_state, client):
    """django-simple-history's page of an old version saved the form posted to it (a "revert") with only
    the view permission checked, every field editable: an addendum, "never edited", was rewritten."""
    from treatments.models import Addendum

    client.force_login(every_state["superuser"])
    addendum = Addendum.objects.order_by("pk").first()
    url = _url(Addendum, "simple_history", addendum.pk, addendum.history.first().history_id)
    assert client.get(url).status_code == 200
    data = {"consultation": addendum.consultation_id, "author": addendum.author_id, "text": "Rewritten."}
    assert client.post(url, data).status_code == 403
    addendum.refresh_from_db()
    assert addendum.text != "Rewritten."
