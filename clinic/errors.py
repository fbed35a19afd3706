"""The one way a service says no: a `Refusal` with a message staff (or a patient) can act on, and the
form field it belongs to when there is one. Views catch it and call `show_refusal` to put it on the form."""


class Refusal(Exception):
    """A change refused for a reason a person can act on; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def show_refusal(form, refusal: Refusal) -> None:
    """Put a refusal on the form: on its field when the form has that field, else above the form."""
    form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
