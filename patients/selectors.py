"""Reads of patient records: search, duplicates, and the change history shown on the patient page."""

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.functions import Cast, Collate
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.utils import timezone

from clinic.staff import person

from .models import (
    Answer,
    Contraindication,
    Patient,
    Screening,
    ScreeningAnswer,
    age_on,
    fold,
    fold_for_search,
    name_key,
)

# --- Search -----------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# Day first, as written in Portugal and most of Europe: 07/03/1985, 07-03-1985, 7.3.1985.
_DAY_FIRST_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_CHART_NUMBER = re.compile(r"^mc-?0*(\d{1,6})$", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"^[\d\s().+-]+$")
# A bare number this short is a chart number ("42"); longer runs of digits are parts of phone numbers.
_MAX_CHART_DIGITS = 6
_MIN_PHONE_DIGITS = 4


def parse_date_query(text: str) -> datetime.date | None:
    """A date typed in the search box (1985-03-07, 07/03/1985, 07-03-1985, 7.3.1985), else None."""
    text = text.strip()
    if match := _ISO_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DAY_FIRST_DATE.match(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def chart_number_for(number: int) -> str:
    return f"MC-{number:06d}"


def _term_filter(term: str) -> Q | None:
    """One word of the query: a date of birth, or a fragment of the folded search column; None for a
    word that folds to nothing (a lone apostrophe or hyphen), which narrows nothing."""
    day = parse_date_query(term)
    if day is not None:
        return Q(date_of_birth=day)
    folded = fold_for_search(term)
    return Q(search_text__contains=folded) if folded else None


def _key(name: str):
    """A name key column as it is indexed: in byte order (PostgreSQL: `COLLATE "C"`, migration 0005;
    SQLite compares bytes already)."""
    return Collate(F(name), "C") if connection.vendor == "postgresql" else F(name)


def _list_order() -> list:
    return [_key("family_key"), _key("given_key"), "id"]


def _prefix(column: str, word: str) -> Q:
    """Keys starting with `word` (or equal to it), as one index range (keys are ASCII)."""
    after = word[:-1] + chr(ord(word[-1]) + 1)
    # Compared as indexed (byte order): a plain column comparison could not use the index.
    return Q(GreaterThanOrEqual(_key(column), word)) & Q(LessThan(_key(column), after))


def _matches(query: str) -> tuple[Q | None, str, Q]:
    """The condition of what staff typed (None: no query); the first word as a name key when the
    query is a name (for the exact and prefix tiers of `search_page`), else ""; and the condition
    that a name starting with that word must still meet in those tiers."""
    # NUL cannot go into a PostgreSQL string; the rest of the whitespace only separates words.
    query = " ".join((query or "").replace("\x00", " ").split())
    if not query:
        return None, "", Q()
    if (day := parse_date_query(query)) is not None:
        return Q(date_of_birth=day), "", Q()
    if match := _CHART_NUMBER.match(query):
        return Q(chart_number=chart_number_for(int(match.group(1)))), "", Q()
    if _PHONE_LIKE.match(query) and any(ch.isdigit() for ch in query):
        digits = "".join(ch for ch in query if ch.isdigit())
        if digits.startswith("00") and len(digits) > _MAX_CHART_DIGITS:  # 00351… is +351…
            digits = digits[2:]
        condition = Q(pk__in=[])
        if len(digits) <= _MAX_CHART_DIGITS:
            condition |= Q(chart_number=chart_number_for(int(digits)))
        if len(digits) >= _MIN_PHONE_DIGITS:
            condition |= Q(search_text__contains=digits)
        return condition, "", Q()
    words = query.split(" ")
    terms = [t for t in map(_term_filter, words) if t is not None]
    if not terms:
        return Q(pk__in=[]), "", Q()
    condition = Q()
    for term in terms:
        condition &= term
    first = name_key(words[0]) if parse_date_query(words[0]) is None else ""
    if len(words) == 1 and first == fold_for_search(words[0]):
        # A family or given name that starts with the word contains it: the prefix tiers need no
        # other condition, so the database reads the name index in order and stops after a page,
        # instead of fetching every row the trigram index finds for a common fragment ("mour":
        # 4,500 rows at a million patients). With more words, their trigrams narrow it faster.
        return condition, first, Q()
    return condition, first, condition


def patient_search(query: str = "", include_archived: bool = False) -> QuerySet[Patient]:
    """Patients matching what staff typed, in the list's order (folded family, then given name).

    The query can be any part of a name (folded as `fold_for_search` says: accents, case, letters
    such as ø or Ł, apostrophes and hyphens set aside; several words all matching in any order), a
    chart number ("MC-000042" or "42"), a phone number in any formatting with or without the country
    code, an e-mail address, or a date of birth. Text matches use the folded `search_text` column
    (trigram-indexed on PostgreSQL, so `contains` stays fast at scale); dates use the indexed
    `date_of_birth` column. Archived patients are left out unless asked for. The patient list itself
    reads through `search_page` (bounded counting, exact and prefix matches first).
    """
    patients = Patient.objects.all()
    if not include_archived:
        patients = patients.active()
    condition, _first, _others = _matches(query)
    if condition is not None:
        patients = patients.filter(condition)
    return patients.order_by(*_list_order())


# The list counts at most this many matches ("more than 1,000") and pages through at most these:
# beyond them staff type more of the name. Counting every match cost most of a request at 1,000,000
# patients (issue 19).
MATCH_LIMIT = 1000
PAGE_SIZE = 25
ROW_FIELDS = (
    "id",
    "chart_number",
    "family_name",
    "given_name",
    "preferred_name",
    "date_of_birth",
    "email",
    "archived_at",
    "phone_display",
)


@dataclass
class SearchPage:
    rows: list[dict]  # ROW_FIELDS, plus "phone" (E.164 text) and "age"
    number: int  # 1-based
    count: int  # matches, counted up to MATCH_LIMIT + 1
    page_size: int = PAGE_SIZE

    @property
    def more_than_limit(self) -> bool:
        return self.count > MATCH_LIMIT

    @property
    def num_pages(self) -> int:
        return max(1, -(-min(self.count, MATCH_LIMIT) // self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def links(self) -> list[int | None]:
        """Page numbers to link (None for a gap): the first, the last and two either side of this
        one, at most nine, however many pages there are."""
        last, shown = self.num_pages, []
        for n in sorted({1, last, *range(max(1, self.number - 2), min(last, self.number + 2) + 1)}):
            if shown and n - shown[-1] > 1:
                shown.append(None)
            shown.append(n)
        return shown


def _tiers(patients: QuerySet, matches: QuerySet, first: str, others: Q) -> Iterator[tuple[QuerySet, list]]:
    """The matches in relevance order, as disjoint parts each read in its own index order (one index
    range each, so a part stops after the rows a page needs): the family name starting with the first
    word typed, the given name starting with it, then every other match (a word inside a name, an
    e-mail, a phone number). A key equal to the word sorts before the keys that only start with it
    (byte order: "silva" < "silva santos" < "silvano"), so within the first two parts exact matches
    come first; then by family and given name.

    Each part is built only when the one before left the page short: building a queryset costs
    about as much as running it, and the first part fills most pages."""
    if not first:
        yield matches, _list_order()
        return
    family, given = _prefix("family_key", first), _prefix("given_key", first)
    named = patients.filter(others)  # with the first word as a prefix, these are matches (_matches)
    yield named.filter(family), _list_order()
    yield named.filter(given).exclude(family), [_key("given_key"), _key("family_key"), "id"]
    yield matches.exclude(family).exclude(given), _list_order()


def search_page(query: str = "", include_archived: bool = False, page: int | str | None = 1) -> SearchPage:
    """One page of the patient list or search (`patient_search` says what a query matches), exact and
    prefix matches first (see `_tiers`), and the number of matches counted up to MATCH_LIMIT + 1.

    At most four queries, each reading at most MATCH_LIMIT + 1 index entries: up to three relevance
    tiers (the shown values, stopping once the page is full), and the count, only when the tiers
    filled the page (otherwise they held every match). Rows are plain values, not model instances.
    """
    patients = Patient.objects.all()
    if not include_archived:
        patients = patients.active()
    condition, first, others = _matches(query)
    matches = patients if condition is None else patients.filter(condition)
    try:
        number = int(page or 1)
    except (TypeError, ValueError):
        number = 1
    number = min(max(number, 1), -(-MATCH_LIMIT // PAGE_SIZE))
    wanted = number * PAGE_SIZE
    # The phone as stored (E.164 text, for the tel: link): the model field's PhoneNumber objects
    # cost a parse per row. It is shown as stored formatted (phone_display).
    shown = {"phone_e164": Cast("phone", TextField())}
    rows: list[dict] = []
    for part, order in _tiers(patients, matches, first, others):
        rows += part.order_by(*order).values(*ROW_FIELDS, **shown)[: wanted - len(rows)]
        if len(rows) >= wanted:
            break
    # Fewer than asked for: the tiers held every match, and that is the count. Counted in no order:
    # sorting the matches first cost compiling the ordering and, for a common name, the database
    # sorting every match before it could stop at MATCH_LIMIT + 1 (19 ms instead of 4 for "mar").
    count = len(rows) if len(rows) < wanted else matches.order_by().values("id")[: MATCH_LIMIT + 1].count()
    result = SearchPage(rows=[], number=number, count=count, page_size=PAGE_SIZE)
    result.number = min(number, result.num_pages)  # past the end: the last page
    start = (result.number - 1) * PAGE_SIZE
    today = timezone.localdate()
    for row in rows[start : start + PAGE_SIZE]:
        row["phone"] = row.pop("phone_e164")
        row["age"] = age_on(row["date_of_birth"], today)
        result.rows.append(row)
    return result


# --- Duplicates ---------------------------------------------------------------------------------------


def find_duplicates(
    *, given_name: str, family_name: str, date_of_birth: datetime.date, exclude_pk: int | None = None
) -> list[Patient]:
    """Patients who look like the same person: same date of birth and the same given and family name
    once accents and case are set aside. Archived patients count too (the page says they are archived),
    so an old record is restored rather than registered twice.
    """
    candidates = Patient.objects.filter(date_of_birth=date_of_birth).order_by("chart_number")
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    given, family = fold(given_name).strip(), fold(family_name).strip()
    return [
        p for p in candidates if fold(p.given_name).strip() == given and fold(p.family_name).strip() == family
    ]


# --- Screening ----------------------------------------------------------------------------------------


def screening_detail(patient: Patient) -> Screening | None:
    """The patient's screening with its allergen groups and answers, or None if never filled in."""
    return (
        Screening.objects.filter(patient=patient)
        .select_related("updated_by")
        .prefetch_related("allergen_groups", "answers")
        .first()
    )


def answers_by_item(screening: Screening | None) -> list[tuple[str, ScreeningAnswer | None]]:
    """(label, answer or None) for every contraindication screened (rule `screening-blocks-eligibility`,
    docs/clinical-rules.md), in the order of the list."""
    answers = {a.item: a for a in screening.answers.all()} if screening else {}
    return [(label, answers.get(item)) for item, label in Contraindication.choices]


# --- History ------------------------------------------------------------------------------------------


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    when: datetime.datetime
    who: str
    action: str  # "created", "changed", "archived", "restored"
    changes: list[Change] = field(default_factory=list)
    # Rows written by one save share a key (the history change reason set by the service).
    key: str | None = None


PATIENT_HISTORY_FIELDS = [
    "given_name",
    "family_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "email",
    "phone",
    "address_line",
    "postal_code",
    "city",
    "country",
    "preferred_contact",
    "email_consent",
    "notes",
]
HISTORY_LIMIT = 100


def _label(model, name: str) -> str:
    verbose = str(model._meta.get_field(name).verbose_name)
    return verbose[:1].upper() + verbose[1:]


def _show(model, name: str, value) -> str:
    if value is None or value == "":
        return "—"
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%d %b %Y %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%d %b %Y")
    return str(value)


def _who(record) -> str:
    user = record.history_user
    if user is None:
        return "System"
    return person(user)


def _patient_who(record) -> str:
    # A change without a user but with a reason was made by the patient (the unsubscribe link).
    if record.history_user is None and record.history_change_reason:
        return record.history_change_reason
    return _who(record)


def patient_history(patient: Patient) -> list[HistoryEntry]:
    """Who changed what on the patient record, newest first (one query, whatever the length)."""
    records = list(
        patient.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : HISTORY_LIMIT + 1
        ]
    )
    entries = []
    for index, record in enumerate(records[:HISTORY_LIMIT]):
        older = records[index + 1] if index + 1 < len(records) else None
        if older is None:
            entries.append(HistoryEntry(record.history_date, _patient_who(record), "created"))
            continue
        delta = record.diff_against(older, included_fields=PATIENT_HISTORY_FIELDS)
        changes = [
            Change(_label(Patient, c.field), _show(Patient, c.field, c.old), _show(Patient, c.field, c.new))
            for c in sorted(delta.changes, key=lambda c: PATIENT_HISTORY_FIELDS.index(c.field))
        ]
        # archived_at is not an editable field, which diff_against leaves out: compare it here.
        if bool(record.archived_at) != bool(older.archived_at):
            action = "archived" if record.archived_at else "restored"
            entries.append(HistoryEntry(record.history_date, _patient_who(record), action, changes))
        elif changes:
            entries.append(HistoryEntry(record.history_date, _patient_who(record), "changed", changes))
    return entries


SCREENING_HISTORY_FIELDS = ["allergy_notes", "current_medications", "fitzpatrick_type"]


def screening_history(screening: Screening | None) -> list[HistoryEntry]:
    """Who changed what in the screening (fields, allergen groups, answers), newest first.

    Three queries whatever the length: the screening's records, their allergen groups, the answers'.
    """
    if screening is None:
        return []
    records = list(
        screening.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : HISTORY_LIMIT + 1
        ]
    )
    groups_model = apps.get_model("patients", "HistoricalScreening_allergen_groups")
    groups: dict[int, list[str]] = {r.history_id: [] for r in records}
    for row in groups_model.objects.filter(history__in=[r.history_id for r in records]).select_related(
        "allergengroup"
    ):
        groups[row.history_id].append(row.allergengroup.name if row.allergengroup else "(removed group)")

    entries: list[HistoryEntry] = []
    for index, record in enumerate(records[:HISTORY_LIMIT]):
        older = records[index + 1] if index + 1 < len(records) else None
        if older is None:
            entries.append(HistoryEntry(record.history_date, _who(record), "created"))
            continue
        delta = record.diff_against(older, included_fields=SCREENING_HISTORY_FIELDS)
        changes = [
            Change(
                _label(Screening, c.field),
                _show(Screening, c.field, c.old),
                _show(Screening, c.field, c.new),
            )
            for c in sorted(delta.changes, key=lambda c: SCREENING_HISTORY_FIELDS.index(c.field))
        ]
        old_groups, new_groups = sorted(groups[older.history_id]), sorted(groups[record.history_id])
        if old_groups != new_groups:
            changes.insert(
                0,
                Change("Allergen groups", ", ".join(old_groups) or "—", ", ".join(new_groups) or "—"),
            )
        if changes:
            entries.append(
                HistoryEntry(
                    record.history_date, _who(record), "changed", changes, record.history_change_reason
                )
            )

    answer_records = list(
        ScreeningAnswer.history.filter(screening_id=screening.pk)
        .select_related("history_user")
        .order_by("item", "history_date", "history_id")
    )
    previous: dict[str, object] = {}
    labels = dict(Contraindication.choices)
    for record in answer_records:
        older = previous.get(record.item)
        previous[record.item] = record
        if older is None:
            continue  # created "unknown" with the screening
        if older.answer == record.answer and older.answered_on == record.answered_on:
            continue
        entries.append(
            HistoryEntry(
                record.history_date,
                _who(record),
                "changed",
                [
                    Change(
                        labels.get(record.item, record.item),
                        _answer_text(older),
                        _answer_text(record),
                    )
                ],
                record.history_change_reason,
            )
        )
    entries.sort(key=lambda e: e.when, reverse=True)
    return [e for e in _merge_same_save(entries) if e.changes or e.action == "created"][:HISTORY_LIMIT]


def _answer_text(record) -> str:
    text = dict(Answer.choices).get(record.answer, record.answer)
    if record.answered_on and record.answer != Answer.UNKNOWN:
        text += f" ({record.answered_on.strftime('%d %b %Y')})"
    return text


def _merge_same_save(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """One screening save writes several history rows (fields, allergen groups in two steps, each
    answer), all with the same key: show them as one entry. `entries` are newest first, so a later
    row of the same save only brings its "before" value."""
    merged: list[HistoryEntry] = []
    by_key: dict[str, HistoryEntry] = {}
    for entry in entries:
        first = by_key.get(entry.key) if entry.key else None
        if first is None:
            merged.append(entry)
            if entry.key:
                by_key[entry.key] = entry
            continue
        for change in entry.changes:
            same = next((c for c in first.changes if c.label == change.label), None)
            if same is None:
                first.changes.append(change)
            else:
                same.old = change.old
        first.changes = [c for c in first.changes if c.old != c.new]
    return merged
