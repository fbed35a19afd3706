"""Pseudonymise now the erased patients whose retention period has ended (the daily task does the same)."""

from django.core.management.base import BaseCommand

from patients import gdpr


class Command(BaseCommand):
    help = "Pseudonymise erased patients whose clinical-record retention period has ended."

    def handle(self, *args, **options):
        count = gdpr.pseudonymise_expired()
        self.stdout.write(f"{count} patient record(s) pseudonymised.")
