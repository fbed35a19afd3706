"""The outbox's models now belong to the outbox app (see outbox/migrations/0001_initial.py): drop them
from this app's migration state only. The tables, their rows and indexes stay; migrating back
brings the models back into this app's state, again without touching the database."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0004_outbox_due_index"),
        ("outbox", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="OutboxEvent"),
                migrations.DeleteModel(name="OutboxMessage"),
            ],
        ),
    ]
