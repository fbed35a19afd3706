from django import template

from clinic import staff
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
