"""What retires the cached patient page (clinic/fragments.py): each app names, in its AppConfig.ready(),
the models the page shows and how an instance leads to its patient.

`clinic/tests/test_fragments.py` checks that every model pointing at a patient, or at a model tracked
here, is tracked or deliberately left out, so a new model cannot leave the page stale unnoticed.
"""

from collections.abc import Iterable

from clinic import fragments


def scope(patient_id: int) -> str:
    return f"patient:{patient_id}"


def track(model: type, path: str = "patient_id") -> None:
    """Retire the page of the patient reached from an instance by `path` ("patient_id",
    "formulation.patient_id") whenever one is saved, deleted or has its many-to-many changed."""
    attributes = path.split(".")

    def scopes_of(instance) -> Iterable[str]:
        value = instance
        for attribute in attributes:
            value = getattr(value, attribute, None)
            if value is None:
                return ()
        return (scope(value),)

    fragments.track(model, scopes_of)


def track_reference(model: type, *, ignore_fields: Iterable[str] = ()) -> None:
    """Names and labels every patient page may show (staff, rooms, ingredients, bands…): a change
    retires every cached page."""
    fragments.track(model, lambda instance: (fragments.REFERENCE,), ignore_fields=ignore_fields)
