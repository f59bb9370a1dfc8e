from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ssa_ops.personal_data import validate_resident_id


def actor_get(username):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user {username!r}.")
    return user


def id_number_clean(value) -> str:
    from django.core.exceptions import ValidationError

    try:
        validate_resident_id(value)
    except ValidationError as error:
        raise CommandError("--id-number is not a valid resident ID number.") from error
    return value.strip().upper()


class Command(BaseCommand):
    help = (
        "Subject access: write everything held about one person (found by resident ID number "
        "through the keyed hash, across every registered kind of record) as JSON. Audited, and "
        "each record's values count as a look in the access log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--id-number", required=True)
        parser.add_argument("--output", help="file to write (default: standard output)")
        parser.add_argument("--by", default="", help="login of the person handling the request")
        parser.add_argument(
            "--documents", default="", help="folder to write the person's documents into"
        )

    def handle(self, *args, id_number, output=None, by="", documents="", **options):
        from ssa_ops.personal_data_retention import (
            personal_subject_export,
            personal_subject_export_json,
        )

        if documents:
            Path(documents).mkdir(parents=True, exist_ok=True)
        export = personal_subject_export(
            id_number=id_number_clean(id_number), actor=actor_get(by), documents_dir=documents
        )
        text = personal_subject_export_json(export)
        if output:
            Path(output).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"{len(export['records'])} records written to {output}.")
        else:
            self.stdout.write(text)
