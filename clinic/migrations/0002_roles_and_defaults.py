"""Create the three role groups, the clinic settings row and the chart-number counter."""

from django.db import migrations

from clinic.roles import grant_permissions

ROLES = ("clinic_admin", "practitioner", "front_desk")


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    apps.get_model("clinic", "ClinicSettings").objects.get_or_create(pk=1)
    apps.get_model("clinic", "Counter").objects.get_or_create(name="chart_number")
    grant_permissions(
        apps,
        schema_editor,
        "clinic",
        {"clinic_admin": ["view_clinicsettings", "change_clinicsettings"]},
    )
    grant_permissions(
        apps,
        schema_editor,
        "auth",
        {"clinic_admin": ["view_user", "add_user", "change_user", "view_group"]},
    )


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
