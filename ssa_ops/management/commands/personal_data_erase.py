import json

from django.core.management.base import BaseCommand

from ssa_ops.management.commands.personal_data_export import actor_get, id_number_clean


class Command(BaseCommand):
    help = (
        "Erase one person's information (found by resident ID number) from every record no "
        "duty keeps: records still open, or kept by their kind's rule, are listed and left. "
        "Each erasure is audited. --dry-run only lists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--id-number", required=True)
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--by", default="", help="login of the person handling the request")

    def handle(self, *args, id_number, dry_run=False, by="", **options):
        from ssa_ops.personal_data_retention import personal_subject_erase

        report = personal_subject_erase(
            id_number=id_number_clean(id_number), actor=actor_get(by), dry_run=dry_run
        )
        self.stdout.write(json.dumps({"dry_run": dry_run, **report}, indent=2))
