"""Help texts, labels, refusals and constraint messages in plain clinic language (issue 13, defect 4)."""

import datetime
import inspect
from importlib import import_module

import pytest
from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import BaseConstraint, CheckConstraint, UniqueConstraint
from django.urls import reverse

from clinic.tests.plain_language import internal_codes
from scheduling.models import OpeningHours, ProtocolBand

OUR_APPS = ("clinic", "patients", "treatments", "scheduling")


def our_models():
    return [model for app in OUR_APPS for model in apps.get_app_config(app).get_models()]


def test_the_pattern_finds_the_codes_staff_saw():
    assert internal_codes("Pre-filled with the maximum (Q4).") == ["(Q4)"]
    assert internal_codes("differs from the protocol (L9, Q3, Q4).") == ["(L9, Q3, Q4)"]
    assert internal_codes("(3 or 4 days apart, Q5)") == ["(3 or 4 days apart, Q5)"]
    assert internal_codes("e.g. 48,24 (Q10).") == ["(Q10)"]
    assert internal_codes("Lot (L1234), 10 mL (Qty 2)") == []


def test_no_model_field_shows_an_internal_code():
    found = [
        f"{model.__name__}.{field.name}: {text}"
        for model in our_models()
        for field in model._meta.get_fields()
        for text in (getattr(field, "help_text", ""), getattr(field, "verbose_name", ""))
        if internal_codes(text)
    ]
    assert found == []


def test_no_form_field_shows_an_internal_code():
    found = []
    for app in OUR_APPS:
        try:
            module = import_module(f"{app}.forms")
        except ModuleNotFoundError:
            continue
        for name, form in inspect.getmembers(module, inspect.isclass):
            if not issubclass(form, forms.BaseForm) or not hasattr(form, "base_fields"):
                continue
            for field_name, field in form.base_fields.items():
                for text in (field.help_text, field.label or "", *field.error_messages.values()):
                    if internal_codes(text):
                        found.append(f"{name}.{field_name}: {text}")
    assert found == []


def test_every_constraint_has_a_plain_message():
    """Without violation_error_message Django shows 'Constraint “<name>” is violated.' to staff."""
    default = BaseConstraint.default_violation_error_message
    bare = [
        f"{model.__name__}: {constraint.name}"
        for model in our_models()
        for constraint in model._meta.constraints
        if isinstance(constraint, CheckConstraint | UniqueConstraint)
        and constraint.violation_error_message == default
    ]
    assert bare == []


@pytest.mark.django_db
def test_opening_hours_closing_before_opening_says_so():
    hours = OpeningHours(weekday=6, opens=datetime.time(18), closes=datetime.time(9))
    with pytest.raises(ValidationError) as refusal:
        hours.full_clean()
    assert refusal.value.messages == ["Closing time must be after opening time."]


def test_clinic_admin_sees_the_plain_message_in_administration(client_as, clinic_admin):
    clinic_admin.is_superuser = True
    clinic_admin.save()
    response = client_as(clinic_admin).post(
        reverse("admin:scheduling_openinghours_add"), {"weekday": 6, "opens": "18:00", "closes": "09:00"}
    )
    body = response.content.decode()
    assert "Closing time must be after opening time." in body
    assert "opening_hours_closes_after_opens" not in body


def test_protocol_ages_read_as_words():
    assert ProtocolBand(min_age=30, max_age=35).ages_display == "ages 30 to 34"
    assert ProtocolBand(min_age=60, max_age=65, max_inclusive=True).ages_display == "ages 60 to 65"
