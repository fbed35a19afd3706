from django import template

from clinic import navigation, staff
from clinic.access import is_allowed

register = template.Library()


@register.filter
def allowed(url_name: str, request) -> bool:
    """`{% if "patients:list"|allowed:request %}`: may this user open that page?"""
    return is_allowed(request.user, url_name)


@register.filter
def person(user) -> str:
    """`{{ appointment.practitioner|person }}`: full name or username; "" for nobody (say, a patient's
    own change by e-mail link), so `|default:` can name that case."""
    return staff.person(user) if user else ""


@register.simple_tag
def page_url(name: str) -> str:
    """`{% page_url "patients:list" %}`: `{% url %}` for a page without arguments, reversed once per
    process (clinic/navigation.py)."""
    return navigation.page_url(name)


@register.simple_tag(takes_context=True)
def main_nav(context) -> str:
    """`{% main_nav %}`: the layout's navigation links for the signed-in user."""
    return navigation.main_nav(context["request"])
