"""The clinic's first treatment consent wording (editable in the app: a change is a new version), and
the role permissions on consents (seeded by consents/migrations/0002; see clinic/seeds.py for the
rules every seed follows)."""

from clinic.seeds import CLINIC_ADMIN, PRACTITIONER, grant_permissions

TITLE = "Consent to mesotherapy treatment"
TEXT = """\
Mesotherapy is a course of micro-injections of a mixture of vitamins, amino acids, hyaluronic acid and \
other substances into the middle layer of the skin, to improve its texture, tone, hydration and fine \
lines. Your practitioner prepares a mixture for you after your consultation.

Several sessions are needed, usually four to six, a week or two apart, then maintenance sessions. \
Results are gradual: the skin improves over weeks, not after one session, and how much varies from \
person to person. No result is guaranteed.

Common effects, which pass within hours to a few days: redness, swelling and small bruises where the \
needle went in, tenderness, and small bumps that settle.

Rarer risks: infection; an allergic reaction to a substance of the mixture; small lumps (nodules) \
under the skin; changes of skin colour (pigmentation). Tell the clinic at once about pain that grows, \
heat, pus, fever, a rash or swelling far from the treated area.

You may stop the course at any time, and withdraw this consent by telling the clinic. Withdrawing it \
does not change the care you already had."""
STATEMENTS = """\
I have read this information and had the chance to ask questions.
I understand that several sessions are needed and that results are gradual and not guaranteed.
I understand the common effects (redness, swelling, bruising) and the rarer risks \
(infection, allergic reaction, nodules, pigmentation).
I have told the practitioner about my health, medicines and allergies truthfully.
I agree to be treated with mesotherapy by this clinic."""


def seed_consent_template_and_permissions(apps, schema_editor=None) -> None:
    ConsentTemplate = apps.get_model("consents", "ConsentTemplate")
    if not ConsentTemplate.objects.exists():
        ConsentTemplate.objects.create(version=1, title=TITLE, text=TEXT, statements=STATEMENTS)
    grant_permissions(
        apps,
        "consents",
        {
            CLINIC_ADMIN: ["view_consenttemplate", "add_consenttemplate", "view_patientconsent"],
            PRACTITIONER: ["view_consenttemplate", "view_patientconsent", "add_patientconsent"],
        },
    )
