"""The outbox's models move here from the clinic app; their tables and data stay as they are.

The standard way to move a model between apps without touching its data: `SeparateDatabaseAndState`.
Here the models enter this app's migration state with `db_table` naming the tables the clinic app
created (clinic 0003 and 0004), and no database operation runs; clinic 0005 then drops them from the
clinic app's state, again without a database operation. Both steps are reversible (migrating back
only moves the state back). Renaming the tables instead (AlterModelTable) would have been a second,
needless change to a table that a running dispatcher holds rows of.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("clinic", "0004_outbox_due_index"),
        ("patients", "0002_search_index_allergens_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("kind", models.CharField(max_length=60)),
                        (
                            "idempotency_key",
                            models.CharField(
                                help_text="One message per key, e.g. reminder:<appointment>:<lead>.",
                                max_length=200,
                                unique=True,
                            ),
                        ),
                        ("recipient", models.EmailField(max_length=254)),
                        (
                            "object_id",
                            models.PositiveBigIntegerField(
                                blank=True,
                                help_text="The appointment or session record the kind refers to.",
                                null=True,
                            ),
                        ),
                        ("due_at", models.DateTimeField()),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("cancelled", "Cancelled"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("lease_until", models.DateTimeField(blank=True, null=True)),
                        ("claim_token", models.CharField(blank=True, editable=False, max_length=32)),
                        ("last_error", models.TextField(blank=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("message_id", models.CharField(editable=False, max_length=200)),
                        ("subject", models.CharField(blank=True, max_length=255)),
                        ("body_text", models.TextField(blank=True)),
                        ("body_html", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "patient",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="outbox_messages",
                                to="patients.patient",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "clinic_outboxmessage",
                        "ordering": ["-due_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="OutboxEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("at", models.DateTimeField(auto_now_add=True)),
                        (
                            "action",
                            models.CharField(
                                choices=[
                                    ("created", "Created"),
                                    ("updated", "Updated"),
                                    ("rescheduled", "Rescheduled"),
                                    ("reclaimed", "Sending again after an interruption"),
                                    ("sent", "Sent"),
                                    ("temporary_failure", "Temporary failure, will retry"),
                                    ("failed", "Failed"),
                                    ("cancelled", "Cancelled"),
                                    ("retry", "Retry requested"),
                                ],
                                max_length=20,
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("cancelled", "Cancelled"),
                                ],
                                max_length=10,
                            ),
                        ),
                        ("attempt", models.PositiveSmallIntegerField(default=0)),
                        ("detail", models.TextField(blank=True)),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "message",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="events",
                                to="outbox.outboxmessage",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "clinic_outboxevent",
                        "ordering": ["at", "id"],
                    },
                ),
                migrations.AddIndex(
                    model_name="outboxmessage",
                    index=models.Index(
                        condition=models.Q(("state__in", ["pending", "sending"])),
                        fields=["due_at", "id"],
                        name="outbox_due_idx",
                    ),
                ),
                migrations.AddIndex(
                    model_name="outboxmessage",
                    index=models.Index(fields=["state", "due_at"], name="outbox_claim_idx"),
                ),
                migrations.AddIndex(
                    model_name="outboxmessage",
                    index=models.Index(fields=["-due_at", "-id"], name="outbox_list_idx"),
                ),
                migrations.AddIndex(
                    model_name="outboxmessage",
                    index=models.Index(fields=["kind", "-due_at"], name="outbox_kind_idx"),
                ),
                migrations.AddConstraint(
                    model_name="outboxmessage",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("state__in", ["pending", "sending", "sent", "failed", "cancelled"])
                        ),
                        name="outbox_state_valid",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="outboxmessage",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("state", "sent"), _negated=True),
                            ("sent_at__isnull", False),
                            _connector="OR",
                        ),
                        name="outbox_sent_has_sent_at",
                    ),
                ),
                migrations.AddIndex(
                    model_name="outboxevent",
                    index=models.Index(fields=["message", "at"], name="outbox_event_msg_idx"),
                ),
            ],
        ),
    ]
