"""Create the three role groups, the clinic settings row and the chart-number counter."""

from django.db import migrations

from clinic.seeds import ROLES, seed_roles_and_clinic_defaults


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(seed_roles_and_clinic_defaults, backwards)]
