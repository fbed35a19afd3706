class SchedulingError(Exception):
    """A refusal with a message for the person at the desk: what happened and what to do."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class BookingClash(SchedulingError):
    """The slot is taken (by the practitioner, the room or the patient) or outside working time."""
