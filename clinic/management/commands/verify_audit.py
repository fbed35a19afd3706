"""Check the audit chain (clinic/audit_chain.py): every access-log and change-history row is still as
it was written, none was deleted, none was slipped in. Exit status 1 when anything is wrong."""

from django.core.management.base import BaseCommand, CommandError

from clinic import audit_chain


class Command(BaseCommand):
    help = "Verify the tamper-evident audit trail and name the first broken entry."

    def handle(self, *args, **options):
        sealed = audit_chain.seal_pending()  # what the sealer has not taken yet is checked too
        if sealed:
            self.stdout.write(f"Sealed {sealed} entries that were waiting for the chain.")
        report = audit_chain.verify()
        if report.intact:
            self.stdout.write(
                self.style.SUCCESS(
                    f"The audit trail is intact: {report.links} entries, chained. "
                    f"Last link {report.head_seq}, "
                    f"digest {report.head_digest} (note it somewhere else to prove later that nothing "
                    "was removed from the end)."
                )
            )
            return
        self.stdout.write(f"The audit trail is broken. First problem: {report.problems[0]}")
        for problem in report.problems[1:]:
            self.stdout.write(f"  also: {problem}")
        raise CommandError(f"{len(report.problems)} problem(s) in the audit trail; the first is above.")
