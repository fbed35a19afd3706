"""Figure 9: the lot recall search for a lot used at 5,000 sessions (1,000 patients), first page
and a page deep in the list, as clinic admin would open it (here the practitioner, who reads it too).
Makes its own data (bench/lots_data.py).
    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python bench/fig9_recall.py [--requests 50]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGET_MS = 200


def main(argv=None) -> int:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    common.setup()
    from bench import lots_data

    lot = lots_data.recall_lot()
    uses = lot.uses.count()
    client = common.client_for("bench-lots-prac")
    rows = []
    for label, query in (("first page", ""), ("page 60", "&page=60")):
        url = f"/treatments/stock/recall/?q={lots_data.RECALL_LOT.lower()}{query}"
        rows.append(
            common.measure(
                f"recall search, lot used {uses} times, {label}",
                lambda url=url: client.get(url),
                args.requests,
                common.expect_ok,
            )
        )
    common.print_rows(9, "lot recall search", rows, TARGET_MS)
    common.emit(9, "Lot recall search", rows=rows, target_ms=TARGET_MS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
