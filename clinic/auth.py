"""The authentication backend: Django's ModelBackend, loading the user's roles with the user.

Every page asks for the roles (the access table, the navigation). Reading them in the same query as
the user saves a query on every request, and writing that query once as SQL instead of building an
annotated queryset each time saves ~1 ms of ORM work per request (cProfile, figure 6).
"""

from functools import cache

from django.contrib.auth.backends import ModelBackend, UserModel
from django.contrib.auth.models import Group
from django.db import connection

from .roles import ROLES, remember_roles


@cache
def _user_with_roles_sql() -> str:
    q = connection.ops.quote_name
    through = UserModel.groups.through._meta
    user_column = through.get_field("user").column
    group_column = through.get_field("group").column
    has_role = (
        f"EXISTS (SELECT 1 FROM {q(through.db_table)} ug JOIN {q(Group._meta.db_table)} g "
        f"ON g.{q('id')} = ug.{q(group_column)} WHERE ug.{q(user_column)} = u.{q(UserModel._meta.pk.column)} "
        f"AND g.{q('name')} = %s)"
    )
    columns = ", ".join(f"{has_role} AS {q(f'has_role_{i}')}" for i in range(len(ROLES)))
    pk = q(UserModel._meta.pk.column)
    return f"SELECT u.*, {columns} FROM {q(UserModel._meta.db_table)} u WHERE u.{pk} = %s"


class RoleModelBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user_id = UserModel._meta.pk.to_python(user_id)
        except Exception:  # a session holding something that is not a user id
            return None
        found = list(UserModel._default_manager.raw(_user_with_roles_sql(), [*ROLES, user_id]))
        if not found or not self.user_can_authenticate(found[0]):
            return None
        user = found[0]
        remember_roles(user, {role for i, role in enumerate(ROLES) if getattr(user, f"has_role_{i}")})
        return user
