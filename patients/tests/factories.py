import datetime
import random

import factory
from faker import Faker

from patients.demo import email_address
from patients.models import Patient
from patients.services import register_patient

_faker = Faker(["pt_PT", "es_ES", "fr_FR", "en_GB", "de_DE"])


class PatientFactory(factory.Factory):
    """A synthetic patient registered through the service (chart number, search column)."""

    class Meta:
        model = Patient

    given_name = factory.LazyFunction(_faker.first_name)
    family_name = factory.LazyFunction(_faker.last_name)
    date_of_birth = factory.LazyFunction(
        lambda: datetime.date.today() - datetime.timedelta(days=random.randint(29 * 365, 60 * 365))
    )
    email = factory.LazyAttribute(lambda p: email_address(p.given_name, p.family_name, domain="example.com"))
    email_consent = True

    @classmethod
    def _create(cls, model_class, *args, by=None, **kwargs):
        return register_patient(by=by, **kwargs)
