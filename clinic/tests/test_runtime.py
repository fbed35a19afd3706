"""A web worker's start-up (clinic/wsgi.py) freezes what it loaded out of the garbage collector's reach."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
import clinic.wsgi
print(gc.get_freeze_count(), "scheduling.views" in sys.modules, "treatments.views" in sys.modules)
"""


def test_the_wsgi_module_freezes_the_start_up_objects_with_the_views_imported():
    """In a fresh interpreter (freezing this one would change every later test): the URLconf and
    the views are imported before the freeze, so they are among the frozen objects."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    frozen, scheduling_views, treatments_views = done.stdout.split()
    assert int(frozen) > 20_000  # Django, the apps and their modules: ~97,000 here
    assert scheduling_views == treatments_views == "True"


CELERY_PROBE = """
import gc
from celery.signals import worker_init
from clinic.celery import app
app.loader.import_default_modules()
assert gc.get_freeze_count() == 0
worker_init.send(sender=None)
print(gc.get_freeze_count())
"""


def test_a_celery_worker_freezes_its_start_up_objects_when_it_starts():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings"}
    done = subprocess.run(
        [sys.executable, "-c", CELERY_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 20_000
