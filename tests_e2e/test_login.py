import re

from playwright.sync_api import expect


def test_staff_member_logs_in_and_sees_their_role(page, login, front_desk):
    login(front_desk)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Good "))
    expect(page.locator("nav")).to_contain_text("Front desk")
    assert page.console_errors == []


def test_anonymous_visitor_is_sent_to_login(page):
    page.goto("/")
    assert "/accounts/login/" in page.url
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
