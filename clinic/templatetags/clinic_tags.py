from django import template

from clinic.access import is_allowed

register = template.Library()


@register.filter
def allowed(url_name: str, request) -> bool:
    """`{% if "patients:list"|allowed:request %}`: may this user open that page?"""
    return is_allowed(request.user, url_name)
