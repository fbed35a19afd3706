"""Clinical photos in Django's admin: what was taken, of which area and when, read only. The images and
thumbnails are never shown or linked here: they are served by photos.views.image only, which checks
the role, hides photos of a withdrawn photo consent and logs the read (rule `photos-private`)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from clinic.admin import LogsClinicalReads, NoWrites
from clinic.models import AccessLogEntry

from .models import ClinicalPhoto, PhotoRelease


@admin.register(ClinicalPhoto)
class ClinicalPhotoAdmin(LogsClinicalReads, NoWrites, admin.ModelAdmin):
    clinical_read = AccessLogEntry.What.PHOTO
    list_display = ("session_at", "patient", "area", "moment", "uploaded_by")
    list_filter = ("area", "moment")
    search_fields = ("patient__search_text", "patient__chart_number")
    list_select_related = ("patient", "uploaded_by")
    readonly_fields = ("in_the_app",)
    fields = (
        "patient",
        "session_record",
        "session_at",
        "area",
        "moment",
        "width",
        "height",
        "uploaded_by",
        "uploaded_at",
        "in_the_app",
    )

    @admin.display(description="photo")
    def in_the_app(self, obj) -> str:
        return format_html(
            '<a href="{}">Open the session\'s photos</a> (shown there if the consent allows; the read is '
            "logged)",
            reverse("photos:session", args=[obj.session_record_id]),
        )


@admin.register(PhotoRelease)
class PhotoReleaseAdmin(NoWrites, admin.ModelAdmin):
    """Releases are recorded by the clinic admin on the patient's photos page, with the reason."""

    list_display = ("released_at", "patient", "released_by", "reason")
    list_select_related = ("patient", "released_by")
    search_fields = ("patient__search_text", "patient__chart_number")
