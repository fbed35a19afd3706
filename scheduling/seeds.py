"""The leaflet's four protocol bands (L10) exactly as Q1 decides, and each role's permissions on
appointments, series and the clinic's resources (seeded by scheduling/migrations/0002; see
clinic/seeds.py for the rules every seed follows)."""

from clinic.seeds import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER, grant_permissions

# label, min_age, max_age, max_inclusive, sessions_per_period, period_days, min_sessions, max_sessions
LEAFLET_BANDS = [
    ("Ages 28–30: one session every three weeks", 28, 30, False, 1, 21, 3, 4),
    ("Ages 30–35: one session every two weeks", 30, 35, False, 1, 14, 3, 4),
    ("Ages 35–40: one session every two weeks", 35, 40, False, 1, 14, 3, 4),
    ("Ages 45–65: two sessions per week", 45, 65, True, 2, 7, 6, 6),
]

APPOINTMENTS = [
    "view_appointment",
    "add_appointment",
    "change_appointment",
    "view_sessionseries",
    "add_sessionseries",
    "change_sessionseries",
    "view_appointmentstatechange",
]
RESOURCES_READ = [
    "view_room",
    "view_openinghours",
    "view_workinghours",
    "view_leave",
    "view_closure",
    "view_protocolband",
]
RESOURCES_WRITE = [
    f"{action}_{model}"
    for model in ("room", "openinghours", "workinghours", "leave", "closure", "protocolband")
    for action in ("add", "change", "delete")
]


def seed_protocol_bands_and_permissions(apps, schema_editor=None) -> None:
    ProtocolBand = apps.get_model("scheduling", "ProtocolBand")
    for label, min_age, max_age, inclusive, per_period, days, min_s, max_s in LEAFLET_BANDS:
        ProtocolBand.objects.get_or_create(
            min_age=min_age,
            max_age=max_age,
            defaults={
                "label": label,
                "max_inclusive": inclusive,
                "sessions_per_period": per_period,
                "period_days": days,
                "min_sessions": min_s,
                "max_sessions": max_s,
            },
        )
    grant_permissions(
        apps,
        "scheduling",
        {
            FRONT_DESK: APPOINTMENTS + RESOURCES_READ,
            PRACTITIONER: APPOINTMENTS + RESOURCES_READ,
            CLINIC_ADMIN: APPOINTMENTS + RESOURCES_READ + RESOURCES_WRITE,
        },
    )
