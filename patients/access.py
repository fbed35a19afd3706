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
}
