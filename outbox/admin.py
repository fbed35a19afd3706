"""Read only: messages change through the services and the Messages pages, so none is sent twice."""

from django.contrib import admin

from clinic.admin import NoWrites

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(NoWrites, admin.ModelAdmin):
    list_display = ("due_at", "kind", "recipient", "state", "attempts", "sent_at")
    list_filter = ("state", "kind")
    search_fields = ("recipient", "idempotency_key", "message_id")
    exclude = ("body_html",)  # the Messages page shows it in a sandboxed frame
