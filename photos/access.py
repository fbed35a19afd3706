"""Access rules for clinical photos (merged into the one table in clinic/access.py): practitioners take
and see them, clinic admin sees them read-only and alone releases photos a withdrawn consent hid,
front desk never sees them (clinical-rules.md, rule `photos-private`)."""

from clinic.access import READ, WRITE, rule

PHOTO_READ = rule(practitioner=READ, clinic_admin=READ)

ACCESS = {
    "photos:patient": PHOTO_READ,
    "photos:session": rule(practitioner=WRITE, clinic_admin=READ),
    "photos:timeline": PHOTO_READ,
    "photos:compare": PHOTO_READ,
    "photos:image": PHOTO_READ,
    "photos:release": rule(clinic_admin=WRITE),
}
