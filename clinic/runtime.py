"""Process start-up for the web workers (clinic/wsgi.py), and for the benchmarks that stand in for them."""

import gc


def freeze_startup_objects() -> None:
    """Put everything the process holds once started (modules, models, URL patterns, settings) out of
    the garbage collector's reach, as Python's documentation suggests for long-lived servers (`gc.freeze`).

    A request that builds a few thousand objects (the planner's month of appointments, a calendar
    week) promotes them to the oldest generation before it ends, so every few such requests Python
    ran a full collection, which walked the ~130,000 start-up objects too: 55–77 ms added to one
    request in five on the planner page (figure 4, bench data). Frozen, a full collection walks only
    what came later: 1–3 ms. The frozen objects are never collected; they live as long as the
    process anyway.
    """
    from importlib import import_module

    from django.conf import settings

    import_module(settings.ROOT_URLCONF)  # and with it every view module, now, not in the first request
    gc.collect()
    gc.freeze()
