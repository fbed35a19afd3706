"""A starting catalogue of skin-rejuvenation mesotherapy ingredients, and the role permissions on
clinical records (the data: treatments/seeds.py)."""

from django.db import migrations

from treatments.seeds import CATALOGUE, seed_ingredient_catalogue_and_permissions


def unseed(apps, schema_editor):
    Ingredient = apps.get_model("treatments", "Ingredient")
    Ingredient.objects.filter(name__in=[row[0] for row in CATALOGUE]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("treatments", "0001_clinical_records"),
        ("patients", "0002_search_index_allergens_permissions"),
    ]
    operations = [migrations.RunPython(seed_ingredient_catalogue_and_permissions, unseed)]
