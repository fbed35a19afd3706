from functools import cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

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


@register.simple_tag
def page_url(name: str) -> str:
    """`{% page_url "patients:list" %}`: `{% url %}` for a page without arguments (the layout's links),
    reversed once per process: such a URL is the same on every request, and the layout's ~15
    `{% url %}` tags cost a tenth of the patient search's CPU (issue 19). Keyed by the script prefix
    and the URL configuration, the two things besides the name that `reverse()` reads."""
    return _page_url(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, name)


@cache
def _page_url(prefix: str, urlconf: str, name: str) -> str:
    return reverse(name, urlconf=urlconf)
