"""The rows the data migrations seed (role groups and their permissions, clinic settings, counters,
allergen groups, the ingredient catalogue, protocol bands) are exactly those in seeded_rows.json,
whether they came from `migrate` or from the test set-up's re-seeding after a flush (conftest.py).

A deliberate change to seeded data updates seeded_rows.json in the same commit (and comes with a
new data migration for databases that already exist)."""

import ast
import json
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.migrations import RunPython
from django.db.migrations.loader import MigrationLoader

from clinic.models import ClinicSettings, Counter
from clinic.roles import ROLES
from conftest import SEEDS, reseed
from patients.models import AllergenGroup
from scheduling.models import ProtocolBand
from treatments.models import Ingredient

EXPECTED = Path(__file__).with_name("seeded_rows.json")
ROOT = Path(__file__).resolve().parents[2]


def seeded_rows() -> dict:
    """The seeded tables, keyed by what identifies a row (primary keys differ after a flush)."""
    return {
        "groups": {
            group.name: sorted(
                f"{p.content_type.app_label}.{p.codename}"
                for p in group.permissions.select_related("content_type")
            )
            for group in Group.objects.order_by("name")
        },
        "clinic_settings": list(ClinicSettings.objects.values().order_by("pk")),
        "counters": list(Counter.objects.values().order_by("name")),
        "allergen_groups": list(AllergenGroup.objects.values("name", "description").order_by("name")),
        "ingredients": [
            {
                **row,
                "typical_amount": str(row["typical_amount"]),
                "maximum_amount": str(row["maximum_amount"]),
            }
            for row in Ingredient.objects.values(
                "name",
                "category",
                "unit",
                "typical_amount",
                "maximum_amount",
                "concerns",
                "allergen_group__name",
                "description",
                "is_active",
            ).order_by("name")
        ],
        "protocol_bands": list(ProtocolBand.objects.values().order_by("min_age")),
    }


def comparable(rows: dict) -> dict:
    """Drop what a save stamps (updated_at) and surrogate ids, then round-trip through JSON."""
    for row in rows["clinic_settings"]:
        row.pop("updated_at")
    for row in rows["protocol_bands"]:
        row.pop("id")
    return json.loads(json.dumps(rows))


def test_migrated_database_holds_exactly_the_seeded_rows(db):
    assert comparable(seeded_rows()) == json.loads(EXPECTED.read_text())


@pytest.mark.django_db(transaction=True)
def test_reseeding_after_a_flush_gives_the_same_rows():
    call_command("flush", interactive=False, verbosity=0)
    assert not Group.objects.exists() and not Ingredient.objects.exists()
    reseed(apps)
    assert comparable(seeded_rows()) == json.loads(EXPECTED.read_text())


def test_every_seed_is_idempotent(db):
    before = comparable(seeded_rows())
    reseed(apps)
    assert comparable(seeded_rows()) == before


def test_the_role_groups_are_the_roles_the_code_knows(db):
    assert set(Group.objects.values_list("name", flat=True)) == set(ROLES)


def test_the_test_set_up_runs_every_seed_the_migrations_run():
    """A seed added to a data migration but not to conftest.SEEDS would leave the tables empty
    after the first transactional test; so would a migration seeding through its own function."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = {app.label for app in apps.get_app_configs() if (Path(app.path) / "seeds.py").exists()}
    runs = {}  # seed -> the migration that runs it
    for node, migration in loader.graph.nodes.items():
        for operation in migration.operations if node[0] in ours else ():
            if isinstance(operation, RunPython) and operation.code.__name__.startswith("seed"):
                runs[operation.code] = node
    assert all(seed.__module__.endswith(".seeds") for seed in runs), runs
    assert set(runs) == set(SEEDS)
    # Each seed runs after every seed its migration depends on (ingredients need allergen groups).
    for position, seed in enumerate(SEEDS):
        needs = set(loader.graph.forwards_plan(runs[seed]))
        later = [other.__name__ for other in SEEDS[position + 1 :] if runs[other] in needs]
        assert later == [], f"conftest.SEEDS runs {seed.__name__} before {later}"


# Besides Django and the standard library, a migration may import the packages whose fields the
# models use, anyascii (the search column's fold is frozen in its migration, the library pinned),
# and the project's modules written for migrations: each app's seeds.py and these two,
# which import nothing but Django (and other seeds) themselves.
THIRD_PARTY = {"anyascii", "phonenumber_field", "phonenumbers", "simple_history"}
# clinic.audit_chain works on the models it is given (the migration that starts the chain passes its own).
FOR_MIGRATIONS = {"clinic.validators", "scheduling.db", "clinic.audit_chain"}
STANDARD = {"django", *sys.stdlib_module_names}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def _written_for_migrations(module: str) -> bool:
    return module in FOR_MIGRATIONS or module.endswith(".seeds")


def test_migrations_import_no_live_application_code():
    offending = []
    for migration in sorted(ROOT.glob("*/migrations/0*.py")):
        for module in _imports(migration):
            if module.split(".")[0] in STANDARD | THIRD_PARTY:
                continue
            if not _written_for_migrations(module):
                offending.append(f"{migration.relative_to(ROOT)} imports {module}")
                continue
            source = ROOT / (module.replace(".", "/") + ".py")
            for imported in _imports(source):
                if imported.split(".")[0] not in STANDARD and not _written_for_migrations(imported):
                    offending.append(
                        f"{module} (imported by {migration.relative_to(ROOT)}) imports {imported}"
                    )
    assert offending == []
