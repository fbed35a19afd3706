"""Consent wording and signed consents in Django's admin. A new wording is a new version, saved from the
app's page (the admin's "Add" opens it, prefilled with the current wording); a version is never
rewritten, and a signed one is frozen in the database too (rule `consent-version-frozen`). Signed
consents are read only, and their signatures are never shown here: the consent's own page shows them,
and logs the read."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from clinic.admin import AddInTheApp, LogsClinicalReads, NoWrites
from clinic.models import AccessLogEntry

from .models import ConsentTemplate, PatientConsent


@admin.register(ConsentTemplate)
class ConsentTemplateAdmin(AddInTheApp, NoWrites, admin.ModelAdmin):
    add_url_name = "consents:template_new"
    list_display = ("version", "title", "created_by", "created_at", "signed")
    fields = ("version", "title", "text", "statements", "created_by", "created_at", "signed")
    list_select_related = ("created_by",)
    readonly_fields = ("signed",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(signed_count=Count("signed_consents"))

    @admin.display(description="signed by patients", ordering="signed_count")
    def signed(self, obj) -> int:
        return obj.signed_count


@admin.register(PatientConsent)
class PatientConsentAdmin(LogsClinicalReads, NoWrites, admin.ModelAdmin):
    clinical_read = AccessLogEntry.What.CONSENT
    list_display = ("signed_at", "patient", "template_version", "practitioner_name", "withdrawn_at")
    list_filter = (("withdrawn_at", admin.EmptyFieldListFilter), "photos_clinical", "template_version")
    search_fields = ("patient__search_text", "patient__chart_number")
    list_select_related = ("patient",)
    date_hierarchy = "signed_at"
    readonly_fields = ("text_unchanged", "signatures")
    # No signature images (patient_signature, practitioner_signature): see the module's docstring.
    fields = (
        "patient",
        "signed_at",
        "template",
        "template_version",
        "text_unchanged",
        "patient_name",
        "practitioner",
        "practitioner_name",
        "device",
        "photos_clinical",
        "photos_marketing",
        "photos_research",
        "withdrawn_at",
        "withdrawn_reason",
        "withdrawn_by",
        "photos_withdrawn_at",
        "photos_withdrawn_reason",
        "signatures",
        "text_shown",
    )

    @admin.display(description="text as signed", boolean=True)
    def text_unchanged(self, obj) -> bool:
        return obj.text_matches()

    @admin.display(description="signatures")
    def signatures(self, obj) -> str:
        return format_html(
            '<a href="{}">Open the signed consent</a> (its page shows the signatures; the read is logged)',
            reverse("consents:detail", args=[obj.pk]),
        )
