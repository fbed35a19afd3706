import factory
from django.contrib.auth.models import Group, User


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user; pass role="practitioner" (or front_desk, clinic_admin) to put them in the group."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@mesoclinic.test")
    password = factory.django.Password("mesoclinic")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: a test with transaction=True (live server, threads) flushes the
            # database, groups included, and later such tests start from that empty database.
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
