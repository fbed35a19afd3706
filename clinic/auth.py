"""The authentication backend: Django's ModelBackend, loading the user's roles with the user.

Every page asks for the roles (the access table, the navigation). Reading them in the same query as
the user saves a query on every request, and writing that query once as SQL instead of building an
annotated queryset each time saves ~1 ms of ORM work per request (cProfile, figure 6). The groups
are joined, one row per group of the user, rather than asked for role by role: PostgreSQL planned
three EXISTS subqueries in ~0.5 ms on every request, the join in ~0.1 ms (EXPLAIN ANALYZE).
"""

from functools import cache

from django.contrib.auth.backends import ModelBackend, UserModel
from django.contrib.auth.models import Group
from django.db import connection

from .roles import remember_roles


@cache
def _user_with_groups_sql() -> str:
    q = connection.ops.quote_name
    through = UserModel.groups.through._meta
    user_column = q(through.get_field("user").column)
    group_column = q(through.get_field("group").column)
    pk = q(UserModel._meta.pk.column)
    return (
        f"SELECT u.*, g.{q('name')} AS {q('group_name')} FROM {q(UserModel._meta.db_table)} u "
        f"LEFT JOIN {q(through.db_table)} ug ON ug.{user_column} = u.{pk} "
        f"LEFT JOIN {q(Group._meta.db_table)} g ON g.{q('id')} = ug.{group_column} "
        f"WHERE u.{pk} = %s"
    )


class RoleModelBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user_id = UserModel._meta.pk.to_python(user_id)
        except Exception:  # a session holding something that is not a user id
            return None
        rows = list(UserModel._default_manager.raw(_user_with_groups_sql(), [user_id]))
        if not rows or not self.user_can_authenticate(rows[0]):
            return None
        user = rows[0]
        remember_roles(user, (row.group_name for row in rows))
        return user
