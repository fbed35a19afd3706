"""How pages, e-mails and messages name a member of staff."""


def person(user) -> str:
    """The user's full name, or the username for an account without one."""
    return user.get_full_name() or user.get_username()


def person_name(first_name: str, last_name: str, username: str) -> str:
    """`person()` from a user's values, for pages that read values rather than User instances."""
    return f"{first_name} {last_name}".strip() or username
