"""What every app's admin shares: records the admin shows but never writes (appointments, clinical
records, signed consents, the access log, the audit chain), because they change only through the app's
services, which check what the admin cannot; and the logging of clinical records read here, as the
app's pages log them (docs/design.md, "Audit"). The clinic's own admin records are registered below."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from .audit import log_clinical_read
from .models import AccessLogEntry, AuditHead, AuditLink, AuditRedaction, SecurityEvent, StaffSession


class NoWrites:
    """No adding, changing or deleting here; for model admins and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(NoWrites, SimpleHistoryAdmin):
    """A record and its history, shown only."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history saves the posted form of an old version (a revert) with only the view
        # permission checked, and builds that form with every field editable: never here.
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class AddInTheApp:
    """The admin's "Add" opens the app's page that does it through its service (receiving stock, a new
    consent wording), so that there is one way to add one, with the same checks and messages."""

    add_url_name: str  # the app's URL name

    def has_add_permission(self, request, obj=None):
        from .access import is_allowed

        return is_allowed(request.user, self.add_url_name, "POST")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse(self.add_url_name))


class LogsClinicalReads:
    """A patient's clinical record opened here (its page, its history, an old version) is a clinical
    read like any in the app: logged with who, when, whose and what (clinic.audit.log_clinical_read).
    Lists name records without their clinical content and are not logged, as the app's lists."""

    clinical_read: str  # an AccessLogEntry.What value

    def read_of(self, obj):
        """(patient id, the record read) of an object of this admin."""
        return obj.patient_id, obj

    def _log_read(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            patient_id, record = self.read_of(obj)
            log_clinical_read(request, patient=patient_id, what=self.clinical_read, obj=record)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            self._log_read(request, object_id)
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        # django-simple-history's list of versions shows what changed, values included; Django's own
        # history page lists only the admin's actions.
        if response.status_code == 200 and isinstance(self, SimpleHistoryAdmin):
            self._log_read(request, object_id)
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        response = super().history_form_view(request, object_id, version_id, extra_context)
        if response.status_code == 200:
            self._log_read(request, object_id)
        return response


# --- the clinic's own records: all written by the app only -----------------------------------------


@admin.register(SecurityEvent)
class SecurityEventAdmin(NoWrites, admin.ModelAdmin):
    list_display = ("at", "user", "kind", "by", "ip_address", "notified")
    list_filter = ("kind",)
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "by")
    date_hierarchy = "at"


@admin.register(StaffSession)
class StaffSessionAdmin(NoWrites, admin.ModelAdmin):
    """Sessions are ended from "Sign-in and sessions", which also removes them from the session store;
    deleting a row here would leave the session signed in. The session key is never shown: it is the
    session's cookie value."""

    list_display = ("user", "started_at", "ip_address", "user_agent")
    fields = ("user", "started_at", "ip_address", "user_agent")
    search_fields = ("user__username",)
    list_select_related = ("user",)


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(NoWrites, admin.ModelAdmin):
    """The clinic admin's search is the "Access log" page; this is the same rows, never editable (each
    is sealed into the audit chain)."""

    list_display = ("at", "user", "patient", "what", "object_id", "ip_address")
    list_filter = ("what",)
    search_fields = ("user__username", "patient__chart_number")
    list_select_related = ("user", "patient")
    show_full_result_count = False


@admin.register(AuditLink)
class AuditLinkAdmin(NoWrites, admin.ModelAdmin):
    """The tamper-evident chain (clinic/audit_chain.py); `manage.py verify_audit` checks it."""

    list_display = ("seq", "table", "row_id", "digest", "sealed_at")
    search_fields = ("table",)
    show_full_result_count = False


@admin.register(AuditHead)
class AuditHeadAdmin(NoWrites, admin.ModelAdmin):
    list_display = ("seq", "digest")


@admin.register(AuditRedaction)
class AuditRedactionAdmin(NoWrites, admin.ModelAdmin):
    list_display = ("at", "table", "row_id", "field", "reason")
    search_fields = ("table",)
