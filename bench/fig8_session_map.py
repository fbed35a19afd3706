"""Figure 8: the session record page of a session with a 60-point injection map (four zones), as
the practitioner who recorded it; and the map page, where the zones are edited.
Makes its own data (bench/lots_data.py).
    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python bench/fig8_session_map.py [--requests 50]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGET_MS = 50


def main(argv=None) -> int:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    common.setup()
    from bench import lots_data

    record = lots_data.map_session()
    points = sum(len(z.points) for z in record.zones.all())
    client = common.client_for("bench-lots-prac")
    url = f"/treatments/sessions/{record.pk}/"
    rows = [
        common.measure(
            f"session record, {points}-point map", lambda: client.get(url), args.requests, common.expect_ok
        )
    ]
    common.print_rows(8, "session record with its injection map", rows, TARGET_MS)
    common.emit(8, "Session page with a 60-point map", rows=rows, target_ms=TARGET_MS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
