"""Access rules for the treatments pages (merged into the one table in clinic/access.py).

Clinical content: practitioners write it, clinic admin only reads it (READ: safe methods), front desk
never sees it (no entry: 403). Pages that only exist to write (create, edit, sign, mark done) are
practitioner-only. The read log of a consultation is for clinic admin.
"""

from clinic.access import READ, WRITE, rule

CLINICAL_WRITE = rule(practitioner=WRITE)
CLINICAL_READ = rule(practitioner=WRITE, clinic_admin=READ)

ACCESS = {
    "treatments:ingredients": rule(practitioner=READ, clinic_admin=READ),
    "treatments:timeline": CLINICAL_READ,
    "treatments:consultation_create": CLINICAL_WRITE,
    "treatments:consultation_detail": CLINICAL_READ,
    "treatments:consultation_edit": CLINICAL_WRITE,
    "treatments:consultation_sign": CLINICAL_WRITE,
    "treatments:addendum_add": CLINICAL_WRITE,
    "treatments:formulation_create": CLINICAL_WRITE,
    "treatments:formulation_detail": CLINICAL_READ,
    "treatments:formulation_revise": CLINICAL_WRITE,
    "treatments:formulation_diff": CLINICAL_READ,
    "treatments:session_create": CLINICAL_WRITE,
    "treatments:appointment_session": CLINICAL_WRITE,
    "treatments:session_detail": CLINICAL_READ,
    "treatments:session_edit": CLINICAL_WRITE,
    "treatments:session_done": CLINICAL_WRITE,
    "treatments:session_map": CLINICAL_WRITE,
    "treatments:session_correction_add": CLINICAL_WRITE,
    # Stock: clinic admin receives it, practitioners read it (and pick lots in the session form).
    "treatments:stock": rule(practitioner=READ, clinic_admin=READ),
    "treatments:stock_receive": rule(clinic_admin=WRITE),
    # Recall lists patients with the sessions they had: clinical staff only.
    "treatments:recall": rule(practitioner=READ, clinic_admin=READ),
    "treatments:recall_export": rule(practitioner=READ, clinic_admin=READ),
    "treatments:lot_recall": rule(clinic_admin=WRITE),
}
