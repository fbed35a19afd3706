"""The outbox in Django's admin, read only: messages change through the services and the Messages
pages (retry), never by editing a row, so that none is ever sent twice."""

from django.contrib import admin

from clinic.admin import NoWrites

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(NoWrites, admin.ModelAdmin):
    list_display = ("due_at", "kind", "recipient", "state", "attempts", "sent_at")
    list_filter = ("state", "kind")
    search_fields = ("recipient", "idempotency_key", "message_id")
    raw_id_fields = ("patient",)
    exclude = ("body_html",)  # the Messages page shows it in a sandboxed frame
