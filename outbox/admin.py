"""The outbox in Django's admin, read only: staff change messages through the Messages pages (retry)
and the services, never by editing a row, so that no row is ever sent twice."""

from django.contrib import admin

from .models import OutboxEvent, OutboxMessage


class OutboxEventInline(admin.TabularInline):
    model = OutboxEvent
    extra = 0
    fields = ("at", "action", "state", "attempt", "detail", "user")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("due_at", "kind", "recipient", "state", "attempts", "sent_at")
    list_filter = ("state", "kind")
    search_fields = ("recipient", "idempotency_key", "message_id")
    date_hierarchy = "due_at"
    list_select_related = ("patient",)
    raw_id_fields = ("patient",)
    exclude = ("body_html",)  # the Messages page shows it in a sandboxed frame
    inlines = [OutboxEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
