"""The first consent wording and the role permissions (consents/seeds.py), and database triggers that
keep what a patient signed as it was (clinical-rules.md, rule `consent-version-frozen`): a signed
version's wording, and a signed consent's evidence, cannot be updated, whatever writes to the table."""

from django.db import migrations

from consents.seeds import seed_consent_template_and_permissions

TEMPLATE_MESSAGE = "A signed consent version never changes: save the new wording as a new version."
SIGNED_MESSAGE = "A signed consent never changes: record a withdrawal, or sign a new consent."
FROZEN = (
    "patient_id",
    "template_id",
    "template_version",
    "text_shown",
    "text_sha256",
    "patient_name",
    "patient_signature",
    "practitioner_id",
    "practitioner_name",
    "practitioner_signature",
    "device",
    "photos_clinical",
    "photos_marketing",
    "photos_research",
)
CHANGED = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN)

POSTGRES = [
    f"""CREATE FUNCTION consents_template_frozen() RETURNS trigger AS $$ BEGIN
    IF EXISTS (SELECT 1 FROM consents_patientconsent WHERE template_id = OLD.id) THEN
      RAISE EXCEPTION '{TEMPLATE_MESSAGE}';
    END IF;
    RETURN NEW; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER consents_template_frozen BEFORE UPDATE ON consents_consenttemplate
    FOR EACH ROW EXECUTE FUNCTION consents_template_frozen()""",
    f"""CREATE FUNCTION consents_signed_frozen() RETURNS trigger AS $$ BEGIN
    IF {CHANGED} THEN RAISE EXCEPTION '{SIGNED_MESSAGE}'; END IF;
    RETURN NEW; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER consents_signed_frozen BEFORE UPDATE ON consents_patientconsent
    FOR EACH ROW EXECUTE FUNCTION consents_signed_frozen()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS consents_signed_frozen ON consents_patientconsent",
    "DROP FUNCTION IF EXISTS consents_signed_frozen()",
    "DROP TRIGGER IF EXISTS consents_template_frozen ON consents_consenttemplate",
    "DROP FUNCTION IF EXISTS consents_template_frozen()",
]
SQLITE = [
    f"""CREATE TRIGGER consents_template_frozen BEFORE UPDATE ON consents_consenttemplate
    WHEN EXISTS (SELECT 1 FROM consents_patientconsent WHERE template_id = OLD.id)
    BEGIN SELECT RAISE(ABORT, '{TEMPLATE_MESSAGE}'); END""",
    f"""CREATE TRIGGER consents_signed_frozen BEFORE UPDATE ON consents_patientconsent
    WHEN {CHANGED.replace("IS DISTINCT FROM", "IS NOT")}
    BEGIN SELECT RAISE(ABORT, '{SIGNED_MESSAGE}'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS consents_signed_frozen",
    "DROP TRIGGER IF EXISTS consents_template_frozen",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("consents", "0001_consent_templates_and_signed_consents")]
    operations = [
        migrations.RunPython(seed_consent_template_and_permissions, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP}),
        ),
    ]
