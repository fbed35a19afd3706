"""Pages that gather HTML from other apps (the dashboard's panels, the patient page's sections, the
appointment page's session record) without importing them: each names the modules it asks."""

from collections.abc import Callable, Iterable
from importlib import import_module
from types import ModuleType


def render_from(paths: Iterable[str], render: Callable[[ModuleType], str]) -> list[str]:
    """`render(module)` for each module of `paths` that exists, in order, keeping the non-empty HTML.

    A module that is missing (an app not installed) is skipped; an import error inside an existing
    module is not hidden.
    """
    rendered = []
    for path in paths:
        try:
            module = import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            continue
        html = render(module)
        if html:
            rendered.append(html)
    return rendered
