"""Front desk drags a session to a free time on the calendar board (it moves, and the appointment's
history has the move), then drags another onto that booking: refused, it snaps back and the message
says why. Screenshots of the week (desktop and tablet), the day and the phone agenda."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.factories import UserFactory
from scheduling.models import Appointment
from scheduling.services import book_appointment
from scheduling.tests.factories import at, open_clinic, patient_aged, practitioner_user

HOSTILE = "<script>alert(1)</script>"


def event(page, name):
    return page.locator(".ec-event", has_text=name)


def drag_by(page, locator, hours: float):
    """Drag the event by `hours` down its column (its own height is one hour)."""
    # After a save the board reloads its events and draws them anew: wait for the new element (it
    # can be replaced between being seen and being measured, which leaves no box: look again).
    for _ in range(50):
        page.wait_for_load_state("networkidle")
        locator.wait_for(state="visible")
        if box := locator.bounding_box():
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the event was never still long enough to be dragged")
    x, y = box["x"] + box["width"] / 2, box["y"] + 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + 10, steps=3)
    page.mouse.move(x, y + box["height"] * hours, steps=12)
    page.mouse.up()


@pytest.mark.django_db(transaction=True)
def test_front_desk_drags_a_session_to_a_free_time_and_a_clash_snaps_back(page, login, screenshots):
    front_desk = UserFactory(username="frontdesk", role="front_desk")
    ines = UserFactory(username="ines", first_name="Inês", last_name="Moura", role="practitioner")
    rui = practitioner_user("rui", first_name="Rui", last_name="Paz")
    rooms = open_clinic(ines, rui, rooms=("Treatment room 1", "Treatment room 2"), saturday=True)
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=14 - today.weekday())
    marta = patient_aged(40, monday, given_name="Marta", family_name="Quintela")
    rita = patient_aged(41, monday, given_name="Rita", family_name="Sá")
    hostile = patient_aged(42, monday, given_name=HOSTILE, family_name="凪沙")
    moving = book_appointment(
        patient=marta, practitioner=ines, room=rooms[0], starts_at=at(monday, 10), by=front_desk
    )
    clashing = book_appointment(
        patient=rita, practitioner=ines, room=rooms[1], starts_at=at(monday, 12), by=front_desk
    )
    book_appointment(
        patient=hostile,
        practitioner=rui,
        room=rooms[1],
        starts_at=at(monday, 10),
        kind="consultation",
        by=front_desk,
    )

    login(front_desk)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    expect(page.locator(".ec")).to_be_visible()
    page.goto(f"/scheduling/calendar/board/?view=day&date={monday.isoformat()}")
    expect(event(page, "Marta Quintela")).to_be_visible()
    # The hostile name is shown as text, never run.
    expect(event(page, HOSTILE)).to_contain_text(f"{HOSTILE} 凪沙")
    expect(page.locator(".ec-resource, .ec-col-head", has_text="Rui Paz").first).to_be_visible()
    page.screenshot(path=screenshots / "board-day.png", full_page=True)

    # 10:00 -> 14:00: free, so it moves, and the history has who moved it from when to when.
    drag_by(page, event(page, "Marta Quintela"), 4)
    message = page.get_by_role("alert")
    expect(message).to_contain_text("Moved: Marta Quintela")
    expect(message).to_contain_text("at 14:00–15:00 with Inês Moura")
    moving.refresh_from_db()
    assert moving.starts_at == at(monday, 14)
    latest, before = moving.history.all()[:2]
    assert latest.history_user == front_desk and latest.starts_at == at(monday, 14)
    assert before.starts_at == at(monday, 10)
    expect(event(page, "Marta Quintela")).to_contain_text("14:00")

    # 12:00 -> 14:00: Marta is there now. Refused in plain words, and it snaps back to 12:00.
    drag_by(page, event(page, "Rita Sá"), 2)
    expect(message).to_contain_text("cannot be moved: Inês Moura already has Marta Quintela 14:00–15:00")
    expect(event(page, "Rita Sá")).to_contain_text("12:00")
    # Back in its place: two hours (two of its heights) above Marta's 14:00.
    top = "e => [e.getBoundingClientRect().top, e.getBoundingClientRect().height]"
    page.wait_for_load_state("networkidle")
    rita_top, height = event(page, "Rita Sá").evaluate(top)
    marta_top, _ = event(page, "Marta Quintela").evaluate(top)
    assert abs(marta_top - rita_top - 2 * height) < 3, (rita_top, marta_top, height)
    clashing.refresh_from_db()
    assert clashing.starts_at == at(monday, 12)

    page.goto(f"/scheduling/appointments/{moving.pk}/")
    expect(page.get_by_text("14:00–15:00")).to_be_visible()

    # The pictures a person looks at: the week on a desktop and a tablet, the agenda on a phone.
    page.goto(f"/scheduling/calendar/board/?view=week&date={monday.isoformat()}")
    expect(event(page, "Rita Sá")).to_be_visible()
    page.screenshot(path=screenshots / "board-week-desktop.png", full_page=True)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.reload()
    expect(event(page, "Rita Sá")).to_be_visible()
    page.screenshot(path=screenshots / "board-week-tablet.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/scheduling/calendar/board/?date={monday.isoformat()}")
    expect(page.locator(".ec-list")).to_be_visible()  # a phone starts in the agenda
    expect(page.get_by_role("link", name="Rita Sá")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the agenda is {width} px wide on a 390 px phone"
    page.screenshot(path=screenshots / "board-agenda-phone.png", full_page=True)
    assert Appointment.objects.filter(state="booked").count() == 3
    assert page.console_errors == []
