import datetime
import uuid

import pytest
from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from clinic import fragments
from patients.models import Patient

pytestmark = pytest.mark.django_db

# Models that point at a patient (or at a model the patient page shows) but whose changes the page
# does not show. A new model must be tracked (patients/page_cache.py) or listed here with its reason.
NOT_ON_THE_PATIENT_PAGE = {
    "outbox.OutboxMessage": "e-mails are on the Messages pages",
    "outbox.OutboxEvent": "e-mails are on the Messages pages",
    "clinic.AccessLogEntry": "who read clinical data: written on every read, shown on the access log page",
    "patients.ErasureRequest": "shown on its own pages; the patient page only links to them",
    "scheduling.AppointmentStateChange": "written with the appointment's own save, which is tracked",
    "photos.ClinicalPhoto": "photos are on the photo pages, never on the patient page",
    "photos.PhotoRelease": "shown on the photo pages only",
}


def _points_at(model, targets) -> bool:
    return any(
        isinstance(field, models.ForeignKey | models.OneToOneField) and field.related_model in targets
        for field in model._meta.get_fields()
        if field.concrete
    )


def test_every_model_the_patient_page_may_show_retires_it():
    tracked = fragments.tracked_models()
    assert Patient in tracked
    untracked = []
    for model in apps.get_models():
        label = model._meta.label
        if (
            model in tracked
            or label in NOT_ON_THE_PATIENT_PAGE
            or label.split(".")[1].startswith("Historical")
        ):
            continue
        # Reference models (staff, rooms…) are pointed at by much the page does not show: only
        # the patient and the patient's own records count here.
        if _points_at(model, {Patient} | {m for m in tracked if _points_at(m, {Patient})} | {Patient}):
            untracked.append(label)
    assert untracked == [], f"track these in patients/page_cache.py or list them above: {untracked}"


def test_the_exempt_list_names_real_models():
    for label in NOT_ON_THE_PATIENT_PAGE:
        apps.get_model(label)


# Redis (the PostgreSQL run) is not emptied between runs: every key and scope here is new each run.
RUN = uuid.uuid4().hex[:8]


class Renderer:
    def __init__(self, html="<p>one</p>"):
        self.html = html
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.html


def test_a_fragment_is_rendered_once_until_its_scope_changes():
    render = Renderer()
    for _ in range(3):
        assert fragments.cached((RUN, 1), [f"scope:{RUN}:a", f"scope:{RUN}:b"], render) == "<p>one</p>"
    assert render.calls == 1
    fragments.renew([f"scope:{RUN}:b"])
    fragments.cached((RUN, 1), [f"scope:{RUN}:a", f"scope:{RUN}:b"], render)
    assert render.calls == 2


def test_an_evicted_generation_retires_its_fragments():
    render = Renderer()
    fragments.cached((RUN, 2), [f"scope:{RUN}:c"], render)
    fragments.cache.delete(f"fragment-generation:scope:{RUN}:c")
    fragments.cached((RUN, 2), [f"scope:{RUN}:c"], render)
    assert render.calls == 2


def test_off_means_always_rendered(settings):
    settings.FRAGMENT_CACHE_SECONDS = 0
    render = Renderer()
    fragments.cached((RUN, 3), [f"scope:{RUN}:d"], render)
    fragments.cached((RUN, 3), [f"scope:{RUN}:d"], render)
    assert render.calls == 2


def test_a_fragment_whose_content_has_already_expired_is_not_stored(settings):
    def render():
        fragments.expires_at(timezone.now() - datetime.timedelta(seconds=1))
        return "<p>past</p>"

    fragments.cached((RUN, 4), [f"scope:{RUN}:e"], render)
    assert fragments.cache.get(f"fragment:{settings.RELEASE}:{RUN}:4") is None


def test_expires_at_outside_a_cached_render_is_ignored():
    fragments.expires_at(timezone.now())  # no error, nothing to bound


def test_a_broken_cache_renders_from_the_database(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(fragments.cache, "get_many", broken)
    render = Renderer()
    assert fragments.cached((RUN, 5), [f"scope:{RUN}:f"], render) == "<p>one</p>"
    assert render.calls == 1


def test_a_broken_cache_does_not_fail_the_write(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(fragments.cache, "set_many", broken)
    fragments.renew([f"scope:{RUN}:g"])  # logged, not raised
    assert "Could not retire cached fragments" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_what_a_reader_cached_before_the_commit_is_retired_by_the_commit():
    """A reader that rendered the old data while the writer's transaction was open stores it under
    the generation of that moment; the renewal after the commit retires it."""
    render_old = Renderer("<p>old</p>")
    with transaction.atomic():
        fragments.renew([f"scope:{RUN}:h"])  # the writer's change, not yet committed
        fragments.cached((RUN, 6), [f"scope:{RUN}:h"], render_old)  # a reader, before the commit
        assert fragments.cached((RUN, 6), [f"scope:{RUN}:h"], Renderer("<p>?</p>")) == "<p>old</p>"
    assert fragments.cached((RUN, 6), [f"scope:{RUN}:h"], Renderer("<p>new</p>")) == "<p>new</p>"


def test_the_patient_page_renders_when_the_cache_is_down(client_as, front_desk, monkeypatch):
    from patients.tests.factories import PatientFactory

    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    patient = PatientFactory()
    monkeypatch.setattr(fragments.cache, "get_many", broken)
    response = client_as(front_desk).get(patient.get_absolute_url())
    assert response.status_code == 200
    assert patient.chart_number in response.content.decode()


def test_a_new_release_never_meets_the_fragments_of_the_previous_one(settings):
    settings.RELEASE = f"{RUN}-before"
    before = Renderer("<p>rendered by the previous code</p>")
    fragments.cached((RUN, 7), [f"scope:{RUN}:i"], before)
    assert fragments.cached((RUN, 7), [f"scope:{RUN}:i"], before) == "<p>rendered by the previous code</p>"
    assert before.calls == 1
    settings.RELEASE = f"{RUN}-after"  # deployed: nothing the page shows has changed, the code has
    after = Renderer("<p>rendered by the new code</p>")
    assert fragments.cached((RUN, 7), [f"scope:{RUN}:i"], after) == "<p>rendered by the new code</p>"
