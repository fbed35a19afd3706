"""The product's URLs plus /bench-ok/, the bare view figure 6 compares the patient page with.

Loaded only under bench.settings. The access rule for the bare view is added here, to the merged
table in memory, never to the product's access table.
"""

from django.http import HttpResponse
from django.urls import include, path

from clinic.access import ACCESS_TABLE, PUBLIC

ACCESS_TABLE["bench_ok"] = PUBLIC


def ok(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench-ok/", ok, name="bench_ok"),
    path("", include("clinic.urls")),
]
