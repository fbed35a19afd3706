"""Who may open the Messages pages (merged into the one table in clinic/access.py): everyone reads
them; front desk and clinic admin retry failures; only clinic admin sends a test message."""

from clinic.access import READ, WRITE, rule

EVERYONE_READS = rule(clinic_admin=READ, practitioner=READ, front_desk=READ)

ACCESS = {
    "clinic:outbox_list": EVERYONE_READS,
    "clinic:outbox_detail": EVERYONE_READS,
    "clinic:outbox_body": EVERYONE_READS,
    "clinic:outbox_retry": rule(clinic_admin=WRITE, front_desk=WRITE),
    "clinic:outbox_test": rule(clinic_admin=WRITE),
    "clinic:email_templates": EVERYONE_READS,  # what each kind says, from made-up data
    "clinic:email_template_html": EVERYONE_READS,
}
