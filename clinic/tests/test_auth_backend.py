"""clinic.auth.RoleModelBackend: the request's user and their roles in one query."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic.auth import RoleModelBackend
from clinic.roles import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER, user_roles
from clinic.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_user_comes_with_their_roles_in_one_query(practitioner, django_assert_num_queries):
    with django_assert_num_queries(1):
        user = RoleModelBackend().get_user(practitioner.pk)
        assert user == practitioner
        assert user_roles(user) == {PRACTITIONER}


def test_several_roles_and_the_superuser(django_assert_num_queries):
    both = UserFactory(role=FRONT_DESK)
    both.groups.add(Group.objects.get(name=PRACTITIONER))
    both.groups.add(Group.objects.create(name="Newsletter editors"))  # a group that is no role
    loaded = RoleModelBackend().get_user(both.pk)
    assert loaded == both and loaded.username == both.username
    assert user_roles(loaded) == {FRONT_DESK, PRACTITIONER}
    root = UserFactory(is_superuser=True)
    assert user_roles(RoleModelBackend().get_user(root.pk)) == {CLINIC_ADMIN}
    nobody = UserFactory()
    assert user_roles(RoleModelBackend().get_user(nobody.pk)) == frozenset()


def test_an_inactive_or_unknown_user_is_nobody(practitioner):
    practitioner.is_active = False
    practitioner.save()
    assert RoleModelBackend().get_user(practitioner.pk) is None
    assert RoleModelBackend().get_user(10**9) is None
    assert RoleModelBackend().get_user("not-an-id") is None


def test_a_role_taken_away_applies_on_the_next_request(client_as, practitioner):
    client = client_as(practitioner)
    assert client.get(reverse("treatments:ingredients")).status_code == 200
    practitioner.groups.clear()
    assert client.get(reverse("treatments:ingredients")).status_code == 403
