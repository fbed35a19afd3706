"""The leaflet's four protocol bands (rule `age-banded-schedule`) with the edges of rule `band-edges`
(docs/clinical-rules.md), and each role's model permissions (the data: scheduling/seeds.py)."""

from django.db import migrations

from scheduling.seeds import LEAFLET_BANDS, seed_protocol_bands_and_permissions


def unseed(apps, schema_editor):
    ProtocolBand = apps.get_model("scheduling", "ProtocolBand")
    for _label, min_age, max_age, *_rest in LEAFLET_BANDS:
        ProtocolBand.objects.filter(min_age=min_age, max_age=max_age).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_rooms_hours_bands_series_appointments"),
        ("clinic", "0002_roles_and_defaults"),
    ]
    operations = [migrations.RunPython(seed_protocol_bands_and_permissions, unseed)]
