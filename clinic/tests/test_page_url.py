"""`{% page_url %}`: the layout's links reversed once per process give what `{% url %}` gives."""

from django.template import Context, Template
from django.urls import get_script_prefix, set_script_prefix

NAMES = ["clinic:dashboard", "patients:list", "scheduling:calendar_board", "logout", "admin:index"]


def render(source: str) -> str:
    return Template("{% load clinic_tags %}" + source).render(Context({}))


def test_page_url_is_the_url_tag_for_every_layout_link():
    for name in NAMES:
        assert render(f"{{% page_url '{name}' %}}") == render(f"{{% url '{name}' %}}")


def test_page_url_follows_the_script_prefix_a_server_sets():
    before = get_script_prefix()
    try:
        assert render("{% page_url 'patients:list' %}") == "/patients/"
        set_script_prefix("/clinic/")
        assert render("{% page_url 'patients:list' %}") == "/clinic/patients/"
        assert render("{% url 'patients:list' %}") == "/clinic/patients/"
    finally:
        set_script_prefix(before)
    assert render("{% page_url 'patients:list' %}") == "/patients/"
