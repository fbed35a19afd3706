from clinic.errors import Refusal


class BookingClash(Refusal):
    """The slot is taken (by the practitioner, the room or the patient) or outside working time.

    Kept apart from other refusals because book_series and shift_rest_of_series catch a clash to say which
    session of the series clashed and that nothing was booked or moved."""
