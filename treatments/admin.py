"""Administration: clinic admin manages the ingredient catalogue; clinical records are read-only here
(they change only through the practitioner pages and their services), and the read log is visible."""

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from clinic.admin import NoWrites, ReadOnlyAdmin

from .models import (
    Concern,
    Consultation,
    ConsultationAnswer,
    Formulation,
    FormulationLine,
    Ingredient,
    SessionRecord,
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


@admin.register(Consultation)
class ConsultationAdmin(ReadOnlyAdmin):
    list_display = ("date", "patient", "practitioner", "decision", "signed_at")
    list_filter = ("decision", ("signed_at", admin.EmptyFieldListFilter), "date")
    search_fields = ("patient__search_text", "patient__chart_number")
    list_select_related = ("patient", "practitioner")
    date_hierarchy = "date"
    inlines = [ConsultationAnswerInline]


class FormulationLineInline(NoWrites, admin.TabularInline):
    model = FormulationLine
    extra = 0


@admin.register(Formulation)
class FormulationAdmin(ReadOnlyAdmin):
    list_display = ("patient", "version", "total_volume_ml", "created_by", "created_at")
    search_fields = ("patient__search_text", "patient__chart_number")
    list_select_related = ("patient", "created_by")
    inlines = [FormulationLineInline]


@admin.register(SessionRecord)
class SessionRecordAdmin(ReadOnlyAdmin):
    list_display = ("performed_at", "patient", "practitioner", "formulation", "done_at", "aftercare_due_at")
    list_filter = (("done_at", admin.EmptyFieldListFilter), "technique")
    search_fields = ("patient__search_text", "patient__chart_number")
    list_select_related = ("patient", "practitioner", "formulation")
