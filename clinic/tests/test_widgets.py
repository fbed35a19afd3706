"""QuickSelect renders byte for byte what Django's Select renders."""

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.utils.safestring import mark_safe

from clinic.widgets import QuickSelect

CHOICES = [
    ("", "Any"),
    ("a", "O'Brien & <Sons>"),
    (3, "Três"),
    ("Group <1>", [("g1", "In a group"), ("g2", mark_safe("<b>safe</b>"))]),
    ("last", 42),
]


@pytest.mark.parametrize("value", [None, "", "a", "3", "g2", "last", "not offered"])
@pytest.mark.parametrize(
    "attrs",
    [
        None,
        {"class": "form-select form-select-sm"},
        {"autofocus": True, "data-x": 'say "hi"', "hidden": False},
    ],
)
def test_the_same_markup_as_djangos_select(value, attrs):
    plain = type(
        "Plain",
        (forms.Form,),
        {"choice": forms.ChoiceField(choices=CHOICES, widget=forms.Select(attrs=attrs))},
    )
    quick = type(
        "Quick",
        (forms.Form,),
        {"choice": forms.ChoiceField(choices=CHOICES, widget=QuickSelect(attrs=attrs))},
    )
    data = None if value is None else {"choice": value}
    expected, got = str(plain(data)["choice"]), str(quick(data)["choice"])
    assert got == expected
    assert "&lt;Sons&gt;" in got and "<b>safe</b>" in got  # escaped, and a safe label left alone


@pytest.mark.django_db
def test_the_same_markup_for_a_model_choice_field_with_a_selected_instance(practitioner):
    users = get_user_model().objects.order_by("pk")
    plain = type(
        "Plain", (forms.Form,), {"who": forms.ModelChoiceField(users, widget=forms.Select, disabled=True)}
    )
    quick = type(
        "Quick", (forms.Form,), {"who": forms.ModelChoiceField(users, widget=QuickSelect, disabled=True)}
    )
    initial = {"who": practitioner}
    got = str(quick(initial=initial)["who"])
    assert got == str(plain(initial=initial)["who"])
    assert f'<option value="{practitioner.pk}" selected>' in got


def test_a_subclass_with_another_option_template_renders_through_the_templates():
    """Only the standard templates are rebuilt in Python; any other goes through Django's renderer."""
    other = "django/forms/widgets/attrs.html"  # any template: here each option renders as its attributes
    custom = type("Custom", (QuickSelect,), {"option_template_name": other})
    reference = type("Reference", (forms.Select,), {"option_template_name": other})
    got = custom(choices=CHOICES).render("x", "a")
    assert got == reference(choices=CHOICES).render("x", "a")
    assert "<option" not in got
