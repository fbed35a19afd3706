"""Pages, e-mails and messages name a member of staff one way: full name, else username."""

from django.contrib.auth.models import User
from django.template import Context, Template

from clinic.staff import person

NAMED = User(username="ana", first_name="Ana", last_name="Silva")
UNNAMED = User(username="tomas")


def test_staff_are_named_by_full_name_else_username():
    assert (person(NAMED), person(UNNAMED)) == ("Ana Silva", "tomas")


def test_the_template_filter_names_staff_the_same_way_and_nobody_as_empty():
    template = Template(
        '{% load clinic_tags %}{{ a|person }}/{{ b|person }}/{{ c|person|default:"the patient" }}'
    )
    assert template.render(Context({"a": NAMED, "b": UNNAMED, "c": None})) == "Ana Silva/tomas/the patient"
