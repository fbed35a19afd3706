"""Access rules for the patients pages (merged into the one table in clinic/access.py).

Everyone on staff registers, finds, edits and archives patients. The screening is clinical: only
practitioners write it, the clinic admin may read it, front desk never sees it.
"""

from clinic.access import ALL_STAFF, READ, WRITE, rule

ACCESS: dict = {
    "patients:list": ALL_STAFF,
    "patients:create": ALL_STAFF,
    "patients:detail": ALL_STAFF,
    "patients:edit": ALL_STAFF,
    "patients:archive": ALL_STAFF,
    "patients:restore": ALL_STAFF,
    "patients:screening": rule(practitioner=WRITE, clinic_admin=READ),
    # Data rights (patients/gdpr.py). The export holds the whole record, clinical part included: the
    # clinic admin, who answers patients' data requests, exports; practitioners read the record in
    # the app and front desk never sees its clinical part. Anyone at the desk may record that a
    # patient asked to be erased; only the clinic admin decides. The requests hold no clinical data.
    "patients:export": rule(clinic_admin=READ),
    "patients:export_fhir": rule(clinic_admin=READ),
    "patients:export_raw": rule(clinic_admin=READ),
    "patients:erasure_new": ALL_STAFF,
    "patients:erasure_list": ALL_STAFF,
    "patients:erasure_detail": ALL_STAFF,
    "patients:erasure_decide": rule(clinic_admin=WRITE),
}
