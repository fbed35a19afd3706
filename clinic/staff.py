"""How pages, e-mails and messages name a member of staff."""


def person(user) -> str:
    """The user's full name, or the username for an account without one."""
    return user.get_full_name() or user.get_username()
