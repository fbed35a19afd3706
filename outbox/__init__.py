"""The e-mail outbox: every message to a patient is a row written with the change that causes it,
sent by a Celery worker, never twice, and shown to staff under Messages."""
