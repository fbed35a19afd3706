"""The audit chain (docs/design.md, "Tamper-evident audit"): every row of the access log, of every change
history (django-simple-history's historical tables) and of the pseudonymisation records is sealed into
one chain of AuditLink rows. A link's digest covers the row's content and the previous link's digest,
so a row edited in the database, a row deleted, a link deleted or a row slipped in without a link all
show, and `manage.py verify_audit` names the first such place in plain words.

Writing a row queues it for sealing (an AuditPending row, in the same transaction); the sealer (beat,
every AUDIT_SEAL_EVERY_SECONDS, and verify_audit before it checks) locks the head and links the waiting
rows in order, thousands per transaction. So a page that logs a read pays one small insert and never
waits for the head lock, the chain never forks, and the head lock is never held while a service holds
the clinic's own row locks.

The functions take the models they work on, so that a data migration (clinic/migrations) seals the rows
that exist when it runs with its own historical models, and the digests are the same.
"""

import hashlib
import json
import logging
from dataclasses import dataclass

from django.apps import apps as global_apps
from django.db import connection, transaction

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
CHUNK = 2000


# ---------------------------------------------------------------- digests


def value_digest(value) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def content_digest(row: dict, redacted: dict[str, str]) -> str:
    """The digest of one row: each field's value digest (or, for a pseudonymised field, the digest of
    the value it had), over the sorted field names."""
    fields = {name: redacted.get(name) or value_digest(value) for name, value in row.items()}
    return value_digest(fields)


def link_digest(previous: str, table: str, row_id: int, content: str) -> str:
    return hashlib.sha256(f"{previous}|{table}|{row_id}|{content}".encode()).hexdigest()


# ---------------------------------------------------------------- which tables


@dataclass(frozen=True)
class ChainModels:
    link: type
    head: type
    redaction: type
    audited: dict  # db_table -> model


def audited_models(apps=global_apps) -> dict:
    """The access log, the pseudonymisation records and every change-history table, by table name."""
    tables = {}
    for model in apps.get_models():
        label = model._meta.label
        if label in ("clinic.AccessLogEntry", "clinic.AuditRedaction") or model.__name__.startswith(
            "Historical"
        ):
            tables[model._meta.db_table] = model
    return dict(sorted(tables.items()))


def chain_models(apps=global_apps) -> ChainModels:
    return ChainModels(
        link=apps.get_model("clinic", "AuditLink"),
        head=apps.get_model("clinic", "AuditHead"),
        redaction=apps.get_model("clinic", "AuditRedaction"),
        audited=audited_models(apps),
    )


def _fields(model) -> list[str]:
    return sorted(field.attname for field in model._meta.concrete_fields)


def _rows(model, pks) -> dict[int, dict]:
    return {
        row[model._meta.pk.attname]: row
        for row in model._default_manager.filter(pk__in=pks).values(*_fields(model))
    }


def _redactions(models: ChainModels, table: str, pks) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    rows = models.redaction._default_manager.filter(table=table, row_id__in=list(pks))
    for row_id, field, digest in rows.values_list("row_id", "field", "original_digest"):
        found.setdefault(row_id, {})[field] = digest
    return found


# ---------------------------------------------------------------- sealing


def queue_for_seal(model, pk: int) -> None:
    """Mark this row for the sealer, in the transaction that wrote it (every audited row's post_save
    calls it): one small insert, so a page that logs a read never waits for the head lock."""
    pending = global_apps.get_model("clinic", "AuditPending")
    pending._default_manager.create(table=model._meta.db_table, row_id=pk)


def queue_bulk(objs) -> None:
    """For rows written with bulk_create (no post_save), e.g. bulk_create_with_history's records."""
    pending = global_apps.get_model("clinic", "AuditPending")
    pending._default_manager.bulk_create(pending(table=type(o)._meta.db_table, row_id=o.pk) for o in objs)


def seal_pending() -> int:
    """Seal every row waiting for the chain, oldest first, CHUNK rows per transaction; returns how
    many links were added. Run every few seconds by beat (clinic/tasks.py) and before verify_audit."""
    models = chain_models()
    pending = global_apps.get_model("clinic", "AuditPending")._default_manager
    added = 0
    while True:
        with transaction.atomic():
            head = _lock_head(models)
            batch = list(pending.order_by("id").values_list("id", "table", "row_id")[:CHUNK])
            if not batch:
                return added
            added += _append([(table, row_id) for _, table, row_id in batch], head, models)
            pending.filter(id__in=[pk for pk, _, _ in batch]).delete()


def seal(items: list[tuple[str, int]], models: ChainModels | None = None) -> int:
    """Append a link for each (table, row id) not sealed yet, in order; returns how many links were
    added (the migration that starts the chain seals the rows that existed then this way)."""
    models = models or chain_models()
    added = 0
    for start in range(0, len(items), CHUNK):
        with transaction.atomic():
            added += _append(items[start : start + CHUNK], _lock_head(models), models)
    return added


def _lock_head(models: ChainModels):
    """The head row, locked until the caller's transaction ends: an UPDATE locks it on PostgreSQL and
    takes SQLite's write lock, so whoever appends next waits and then reads this append's head."""
    head_table = connection.ops.quote_name(models.head._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {head_table} SET seq = seq WHERE id = 1")
        if cursor.rowcount == 0:
            models.head._default_manager.create(pk=1)
            cursor.execute(f"UPDATE {head_table} SET seq = seq WHERE id = 1")
    return models.head._default_manager.get(pk=1)


def _append(items, head, models: ChainModels) -> int:
    """Link these rows after `head` (locked by the caller). A row already linked, or gone (deleted
    before it was sealed: verify_audit cannot see such a row, so the log says so), is skipped."""
    by_table: dict[str, list[int]] = {}
    for table, row_id in items:
        by_table.setdefault(table, []).append(row_id)
    rows, redacted, linked = {}, {}, set()
    for table, pks in by_table.items():
        model = models.audited[table]
        rows[table] = _rows(model, pks)
        redacted[table] = _redactions(models, table, pks)
        existing = models.link._default_manager.filter(table=table, row_id__in=pks)
        linked |= {(table, pk) for pk in existing.values_list("row_id", flat=True)}
    links = []
    seq, digest = head.seq, head.digest
    for table, row_id in dict.fromkeys(items):
        row = rows[table].get(row_id)
        if row is None:
            logger.warning("Audit entry %s %s was deleted before it was sealed.", table, row_id)
            continue
        if (table, row_id) in linked:
            continue
        seq += 1
        digest = link_digest(digest, table, row_id, content_digest(row, redacted[table].get(row_id, {})))
        links.append(models.link(seq=seq, table=table, row_id=row_id, digest=digest))
    if links:
        models.link._default_manager.bulk_create(links)
        models.head._default_manager.filter(pk=1).update(seq=seq, digest=digest)
    return len(links)


def seal_everything(models: ChainModels) -> int:
    """Seal every row not sealed yet, table by table in id order (the migration that starts the chain).
    It also creates the head, so that concurrent first appends never race to create it."""
    models.head._default_manager.get_or_create(pk=1)
    added = 0
    for table, model in models.audited.items():
        linked = models.link._default_manager.filter(table=table).values("row_id")
        pks = list(model._default_manager.exclude(pk__in=linked).order_by("pk").values_list("pk", flat=True))
        added += seal([(table, pk) for pk in pks], models)
    return added


# ---------------------------------------------------------------- verifying


def describe(models: ChainModels, table: str, row_id: int) -> str:
    model = models.audited.get(table)
    if model is None:
        return f"row {row_id} of an unknown table {table}"
    if model._meta.label == "clinic.AccessLogEntry":
        return f"access log entry {row_id}"
    if model._meta.label == "clinic.AuditRedaction":
        return f"pseudonymisation record {row_id}"
    instance_type = getattr(model, "instance_type", None)
    name = instance_type._meta.verbose_name if instance_type is not None else model._meta.verbose_name
    return f"change-history entry {row_id} of the {name} records"


@dataclass
class Report:
    links: int
    head_seq: int
    head_digest: str
    problems: list[str]
    waiting: int = 0  # rows written and not sealed yet (the sealer runs every few seconds)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(models: ChainModels | None = None, *, limit: int = 50) -> Report:
    """Walk the whole chain; list what is wrong, first problem first (at most `limit`)."""
    models = models or chain_models()
    problems: list[str] = []
    previous, expected_seq, last_seq, count = GENESIS, 1, 0, 0
    links = models.link._default_manager.order_by("seq")
    while True:
        chunk = list(links.filter(seq__gt=last_seq).values_list("seq", "table", "row_id", "digest")[:CHUNK])
        if not chunk:
            break
        by_table: dict[str, list[int]] = {}
        for _, table, row_id, _ in chunk:
            by_table.setdefault(table, []).append(row_id)
        rows, redacted = {}, {}
        for table, pks in by_table.items():
            model = models.audited.get(table)
            rows[table] = _rows(model, pks) if model is not None else {}
            redacted[table] = _redactions(models, table, pks)
        for seq, table, row_id, digest in chunk:
            count += 1
            what = describe(models, table, row_id)
            if seq != expected_seq:
                missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq} to {seq - 1}"
                problems.append(
                    f"Chain link {missing} is missing (deleted from the database): the chain jumps from link "
                    f"{expected_seq - 1} to link {seq}, which seals {what}."
                )
            row = rows[table].get(row_id)
            if row is None:
                problems.append(f"Link {seq}: {what} was deleted from the database.")
            elif (
                link_digest(previous, table, row_id, content_digest(row, redacted[table].get(row_id, {})))
                != digest
            ) and seq == expected_seq:
                problems.append(f"Link {seq}: {what} was changed in the database after it was written.")
            previous, expected_seq, last_seq = digest, seq + 1, seq
    head = models.head._default_manager.filter(pk=1).first()
    head_seq, head_digest = (head.seq, head.digest) if head else (0, GENESIS)
    if head_seq != last_seq or head_digest != previous:
        problems.append(
            f"The chain ends at link {last_seq} but its head says {head_seq}: "
            f"the last {max(head_seq - last_seq, 0) or 'few'} links were removed or rewritten."
        )
    pending = global_apps.get_model("clinic", "AuditPending")._default_manager
    for table, model in models.audited.items():
        linked = models.link._default_manager.filter(table=table).values("row_id")
        waiting = pending.filter(table=table).values("row_id")
        for pk in (
            model._default_manager.exclude(pk__in=linked)
            .exclude(pk__in=waiting)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        ):
            problems.append(
                f"{describe(models, table, pk).capitalize()} is not in the chain: it was written outside "
                "the application (every row the application writes is queued for sealing with it)."
            )
    return Report(
        links=count,
        head_seq=head_seq,
        head_digest=head_digest,
        problems=problems[:limit],
        waiting=pending.count(),
    )
