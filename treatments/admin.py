"""Administration: clinic admin manages the ingredient catalogue and corrects stock lots; clinical
records are read-only here (they change only through the practitioner pages and their services), and
opening one is logged as the app's pages log it (clinic.admin.LogsClinicalReads)."""

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from clinic.admin import AddInTheApp, LogsClinicalReads, NoWrites, ReadOnlyAdmin
from clinic.models import AccessLogEntry

from .models import (
    Addendum,
    Concern,
    Consultation,
    ConsultationAnswer,
    Formulation,
    FormulationLine,
    Ingredient,
    InjectionZone,
    SessionCorrection,
    SessionLot,
    SessionRecord,
    StockLot,
)


class IngredientAdminForm(forms.ModelForm):
    concerns = forms.MultipleChoiceField(
        label="Concerns addressed",
        choices=Concern.choices[:-1],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Ingredient
        fields = [
            "name",
            "category",
            "unit",
            "typical_amount",
            "maximum_amount",
            "concerns",
            "allergen_group",
            "description",
            "is_active",
        ]


@admin.register(Ingredient)
class IngredientAdmin(SimpleHistoryAdmin):
    form = IngredientAdminForm
    list_display = (
        "name",
        "category",
        "unit",
        "typical_amount",
        "maximum_amount",
        "allergen_group",
        "is_active",
    )
    list_filter = ("is_active", "category", "unit", "allergen_group")
    search_fields = ("name", "description")
    list_select_related = ("allergen_group",)
    list_editable = ("is_active",)

    def has_delete_permission(self, request, obj=None):
        # Retire instead: formulations keep pointing at the ingredient.
        return False


class ConsultationAnswerInline(NoWrites, admin.TabularInline):
    model = ConsultationAnswer
    extra = 0


class AddendumInline(NoWrites, admin.TabularInline):
    model = Addendum
    extra = 0


@admin.register(Consultation)
class ConsultationAdmin(LogsClinicalReads, ReadOnlyAdmin):
    clinical_read = AccessLogEntry.What.CONSULTATION
    list_display = ("date", "patient", "practitioner", "decision", "signed_at")
    list_filter = ("decision", ("signed_at", admin.EmptyFieldListFilter), "date")
    search_fields = ("patient__search_text", "patient__chart_number")
    list_select_related = ("patient", "practitioner")
    date_hierarchy = "date"
    inlines = [ConsultationAnswerInline, AddendumInline]


@admin.register(Addendum)
class AddendumAdmin(LogsClinicalReads, ReadOnlyAdmin):
    """Every addendum, to find one by date or author; each also shows on its consultation."""

    clinical_read = AccessLogEntry.What.CONSULTATION
    list_display = ("created_at", "consultation", "author")
    list_select_related = ("consultation__patient", "author")
    search_fields = ("consultation__patient__search_text", "consultation__patient__chart_number")

    def read_of(self, obj):
        return obj.consultation.patient_id, obj.consultation


class FormulationLineInline(NoWrites, admin.TabularInline):
    model = FormulationLine
    extra = 0


@admin.register(Formulation)
class FormulationAdmin(LogsClinicalReads, ReadOnlyAdmin):
    clinical_read = AccessLogEntry.What.FORMULATION
    list_display = ("patient", "version", "total_volume_ml", "created_by", "created_at")
    search_fields = ("patient__search_text", "patient__chart_number")
    list_select_related = ("patient", "created_by")
    inlines = [FormulationLineInline]


class SessionLotInline(NoWrites, admin.TabularInline):
    model = SessionLot
    extra = 0


class InjectionZoneInline(NoWrites, admin.TabularInline):
    """The map's zones as rows; the diagram itself is drawn on the session's page."""

    model = InjectionZone
    extra = 0


class SessionCorrectionInline(NoWrites, admin.TabularInline):
    model = SessionCorrection
    extra = 0


@admin.register(SessionRecord)
class SessionRecordAdmin(LogsClinicalReads, ReadOnlyAdmin):
    clinical_read = AccessLogEntry.What.SESSION_RECORD
    list_display = ("performed_at", "patient", "practitioner", "formulation", "done_at", "aftercare_due_at")
    list_filter = (("done_at", admin.EmptyFieldListFilter), "technique")
    search_fields = ("patient__search_text", "patient__chart_number")
    list_select_related = ("patient", "practitioner", "formulation")
    inlines = [SessionLotInline, InjectionZoneInline, SessionCorrectionInline]


@admin.register(SessionCorrection)
class SessionCorrectionAdmin(LogsClinicalReads, ReadOnlyAdmin):
    """Every correction of a done session, to find one by date or author; each also shows on its
    session record (rule `session-correction`)."""

    clinical_read = AccessLogEntry.What.SESSION_RECORD
    list_display = ("created_at", "session_record", "author", "what")
    list_select_related = ("session_record", "author")
    search_fields = ("session_record__patient__search_text", "session_record__patient__chart_number")

    def read_of(self, obj):
        return obj.session_record.patient_id, obj.session_record


@admin.register(StockLot)
class StockLotAdmin(AddInTheApp, SimpleHistoryAdmin):
    """Corrections of a lot as received (a mistyped expiry or supplier, a stock count). A lot is
    received on the app's page (the admin's "Add" opens it) and recalled there too, which tells the
    patients; what sessions recorded of a lot (its product and number) does not change once it is
    used, and a used lot is never deleted."""

    add_url_name = "treatments:stock_receive"
    list_display = (
        "lot_number",
        "ingredient",
        "expiry_date",
        "quantity_received",
        "quantity_remaining",
        "supplier",
        "received_on",
        "recalled_at",
    )
    list_filter = (("recalled_at", admin.EmptyFieldListFilter), "from_old_records", "ingredient")
    search_fields = ("lot_number", "ingredient__name", "supplier")
    list_select_related = ("ingredient",)
    date_hierarchy = "expiry_date"
    fields = (
        "ingredient",
        "lot_number",
        "expiry_date",
        "quantity_received",
        "quantity_remaining",
        "supplier",
        "received_on",
        "received_by",
        "from_old_records",
        "recalled_at",
        "recalled_by",
        "recall_reason",
        "created_at",
    )
    readonly_fields = (
        "received_by",
        "from_old_records",
        "recalled_at",
        "recalled_by",
        "recall_reason",
        "created_at",
    )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # each deletion asks on its own page, for unused lots only
        return actions

    @staticmethod
    def _used(obj) -> bool:
        return obj.uses.exists() or InjectionZone.objects.filter(stock_lot=obj).exists()

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and (obj.from_old_records or self._used(obj)):
            fields += ("ingredient", "lot_number")
        if obj is not None and obj.from_old_records:
            fields += ("expiry_date", "quantity_received", "quantity_remaining")
        return fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.from_old_records or self._used(obj)):
            return False
        return super().has_delete_permission(request, obj)
