"""What every app's admin shares: records the admin shows but never writes (appointments, clinical
records), because they change only through the app's services, which check what the admin cannot."""

from simple_history.admin import SimpleHistoryAdmin


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
