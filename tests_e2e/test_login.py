from playwright.sync_api import expect


def test_staff_member_logs_in_and_sees_their_role(page, login, front_desk):
    login(front_desk)
    assert page.get_by_role("heading", level=1).inner_text().startswith("Good ")
    assert "Front desk" in page.locator("nav").inner_text()
    assert page.console_errors == []


def test_anonymous_visitor_is_sent_to_login(page):
    page.goto("/")
    assert "/accounts/login/" in page.url
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
