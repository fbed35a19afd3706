"""On PostgreSQL the name/phone/e-mail search is served by the trigram index (stays fast at 100k)."""

import pytest
from django.db import connection

from patients.selectors import patient_search
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_text_search_uses_the_trigram_index():
    for n in range(30):
        PatientFactory(given_name=f"Ana{n}", family_name="Sousa")
    sql, params = patient_search("conceicao").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
        # Tiny tables favour other plans; forbid them to see that the index can serve this query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "patient_search_trgm" in plan, plan


def test_date_of_birth_search_uses_its_index():
    PatientFactory()
    sql, params = patient_search("07/03/1985").query.sql_with_params()
    with connection.cursor() as cursor:
        # Tiny tables favour other plans; forbid them to see that the index can serve this query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "patient_dob" in plan, plan
