from django.core.management.base import BaseCommand

from ssa_ops.personal_data_keys import key_generate


class Command(BaseCommand):
    help = (
        "Re-encrypt every personal value and personal document under the first key of "
        "PERSONAL_DATA_KEYS and recompute the lookup hashes with PERSONAL_DATA_HASH_KEY. "
        "Rotation: put a new key first (keep the old ones after it), run this, then drop the "
        "old keys. --generate prints a new key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true", help="print a new key and stop")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, generate=False, batch_size=500, **options):
        if generate:
            self.stdout.write(key_generate())
            return
        from ssa_ops.personal_data_retention import personal_data_rekey

        report = personal_data_rekey(batch_size=batch_size)
        self.stdout.write(
            f"Re-encrypted {report['records']} records and {report['documents']} documents."
        )
