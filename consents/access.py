"""Access rules for the consent pages (merged into the one table in clinic/access.py).

The signed consent is clinical content: practitioners sign and read it, clinic admin reads it and
writes the wording, front desk never opens it (it sees only "signed" or "missing" on the appointment
pages and the day list)."""

from clinic.access import READ, WRITE, rule

ACCESS = {
    "consents:templates": rule(clinic_admin=WRITE, practitioner=READ),
    "consents:template_new": rule(clinic_admin=WRITE),
    "consents:template_detail": rule(clinic_admin=READ, practitioner=READ),
    "consents:patient": rule(practitioner=WRITE, clinic_admin=READ),
    "consents:sign": rule(practitioner=WRITE),
    "consents:detail": rule(practitioner=WRITE, clinic_admin=READ),
    "consents:signature": rule(practitioner=READ, clinic_admin=READ),
    "consents:pdf": rule(practitioner=READ, clinic_admin=READ),
    "consents:email": rule(practitioner=WRITE),
    "consents:withdraw": rule(practitioner=WRITE),
    "consents:withdraw_photos": rule(practitioner=WRITE),
}
