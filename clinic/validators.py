"""Field validators that migrations name (clinic/migrations/0001): Django only, so that running a
migration never imports the live models."""

from django.core.exceptions import ValidationError


def validate_lead_hours(value: str) -> None:
    try:
        hours = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValidationError("Give whole hours separated by commas, for example 48,24.") from None
    if not hours or any(h <= 0 or h > 24 * 14 for h in hours):
        raise ValidationError("Each lead time must be between 1 and 336 hours.")
    if len(set(hours)) != len(hours):
        raise ValidationError("Each lead time may appear only once.")


class MaximumLengthValidator:
    """A password of at most `max_length` characters (ASVS 2.1.2: 128 must be allowed)."""

    def __init__(self, max_length: int = 128):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long: use at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password can be up to {self.max_length} characters long."
