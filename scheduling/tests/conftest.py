import datetime

import pytest

from scheduling.tests.factories import open_clinic


@pytest.fixture
def rooms(practitioner):
    """An open clinic (Mon–Fri 09:00–19:00) with two rooms and the practitioner working all hours."""
    return open_clinic(practitioner)


@pytest.fixture
def planning_now():
    """A fixed "now" for the planner: Monday 4 January 2027, 08:00 in Lisbon."""
    from clinic.clock import local_datetime

    return local_datetime(datetime.date(2027, 1, 4), datetime.time(8))
