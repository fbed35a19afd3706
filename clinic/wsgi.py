import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
application = get_wsgi_application()

from clinic.runtime import freeze_startup_objects  # noqa: E402 - needs the apps loaded above

freeze_startup_objects()
