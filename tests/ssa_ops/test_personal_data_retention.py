"""Kept no longer than needed, and a person's rights: the retention task erases exactly what
is past its period (keeping what accounting needs), and the export and erase commands find a
person by ID number across every registered kind of record; all of it audited."""

import io
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from ssa_ops.attachments import attachments_create
from ssa_ops.models import Attachment, AuditEvent, PersonalDataAccess
from ssa_ops.personal_data_retention import personal_data_retention_run
from ssa_ops.roles import Role
from ssa_ops.tasks import personal_data_retention
from tests.personal_data_app import fixtures
from tests.personal_data_app.fixtures import PERSONAL_KEY

personal_app, personal_settings = fixtures.personal_app, fixtures.personal_settings
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_settings")]

ID_NUMBER = "11010519491231002X"
OTHER_ID_NUMBER = "440524188001010014"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def application(db, personal_app):
    def make(*, closed_days_ago=None, **fields):
        values = {
            "number": "A-1",
            "buyer_name": "王小明",
            "id_number": ID_NUMBER,
            "phone": "13800138000",
            "employee_number": "E1234567",
            "amount": "1200.00",
            "invoice_number": "INV-1",
            **fields,
        }
        if closed_days_ago is not None:
            values["closed_at"] = timezone.now() - timedelta(days=closed_days_ago)
        return personal_app.objects.create(**values)

    return make


def _scan(owner, user):
    return attachments_create(
        owner=owner,
        uploads=[SimpleUploadedFile("id.png", PNG)],
        actor=user,
        purpose="test_id_card",
    )[0]


def _erased(record) -> bool:
    record.refresh_from_db()
    return record.id_number == "" and record.phone == "" and record.buyer_name == ""


def test_retention_erases_exactly_the_records_past_their_period(
    application, make_user, django_capture_on_commit_callbacks
):
    # given: the kind keeps 30 days after closing; records on both sides, open and on hold
    past = application(number="PAST", closed_days_ago=31)
    recent = application(number="RECENT", closed_days_ago=29)
    still_open = application(number="OPEN")
    on_hold = application(number="HOLD", closed_days_ago=400, on_hold=True)
    scan = _scan(past, make_user(Role.OPS))
    recent_scan = _scan(recent, make_user(Role.OPS))
    storage = Attachment._meta.get_field("file").storage
    # when: the beat task runs
    with django_capture_on_commit_callbacks(execute=True):
        report = personal_data_retention.delay().get()
    # then: the past record lost its personal fields, name and ID card scan (file too)...
    assert report == {"erased": {"buyer_application": 1}, "documents": 1, "more": False}
    assert _erased(past) and past.id_number_hash == ""
    assert not Attachment.objects.filter(pk=scan.pk).exists()
    assert not storage.exists(scan.file.name)
    # ...kept what accounting needs...
    assert (past.number, str(past.amount), past.invoice_number) == ("PAST", "1200.00", "INV-1")
    # ...and the others are untouched
    for record in (recent, still_open, on_hold):
        record.refresh_from_db()
        assert record.id_number.reveal() == ID_NUMBER and record.buyer_name == "王小明"
    assert Attachment.objects.filter(pk=recent_scan.pk).exists()
    # the erasure is in the record's audit trail, by the system, with field names only
    [event] = AuditEvent.objects.filter(action="personal_data_erased")
    assert (event.object_id, event.actor, event.actor_name) == (str(past.pk), None, "system")
    assert event.changes == {
        "erased": ["id_number", "phone", "employee_number", "buyer_name"],
        "documents": 1,
        "emails": 0,
    }
    assert "30" in event.reason_display and ID_NUMBER not in json.dumps(event.changes)


def test_running_retention_again_erases_nothing_and_records_nothing(application):
    application(closed_days_ago=31)
    personal_data_retention_run()
    events = AuditEvent.objects.count()
    assert personal_data_retention_run() == {"erased": {}, "documents": 0, "more": False}
    assert AuditEvent.objects.count() == events


def test_the_period_in_settings_overrides_the_kinds_default(application, settings):
    recent = application(closed_days_ago=10)
    settings.PERSONAL_DATA_RETENTION_DAYS = {"buyer_application": 7}
    assert personal_data_retention_run()["erased"] == {"buyer_application": 1}
    assert _erased(recent)


def test_retention_works_in_bounded_batches_and_says_when_more_is_due(application):
    for number in range(3):
        application(number=f"A-{number}", closed_days_ago=60)
    first = personal_data_retention_run(batch_size=2)
    second = personal_data_retention_run(batch_size=2)
    assert (first["erased"], first["more"]) == ({"buyer_application": 2}, True)
    assert (second["erased"], second["more"]) == ({"buyer_application": 1}, False)


def test_the_beat_schedule_runs_retention_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["erase-personal-data-past-retention"]
    assert entry == {"task": "ssa_ops.tasks.personal_data_retention", "schedule": 86400}


# A person's rights ---------------------------------------------------------------------------


def test_export_writes_everything_held_about_the_person_and_is_audited(
    application, make_user, tmp_path
):
    # given: the person on two applications (one with an ID card scan), someone else on a third
    lead = make_user(Role.OPS_LEAD)
    first = application(number="A-1")
    second = application(number="A-2", id_number="110105 19491231 002x", phone="13912345678")
    application(number="A-3", id_number=OTHER_ID_NUMBER)
    scan = _scan(first, lead)
    # when: the export command runs for the person's ID number
    output = tmp_path / "export.json"
    call_command(
        "personal_data_export",
        "--id-number",
        ID_NUMBER,
        "--by",
        lead.username,
        "--output",
        str(output),
        "--documents",
        str(tmp_path / "documents"),
        stderr=io.StringIO(),
    )
    export = json.loads(output.read_text())
    # then: both of the person's records, in full, with the document, and nobody else's
    records = {record["fields"]["number"]: record for record in export["records"]}
    assert sorted(records) == ["A-1", "A-2"]
    assert records["A-2"]["fields"]["id_number"] == ID_NUMBER
    assert records["A-2"]["fields"]["phone"] == "13912345678"
    assert records["A-1"]["fields"]["buyer_name"] == "王小明"
    assert "id_number_hash" not in records["A-1"]["fields"]
    assert [doc["id"] for doc in records["A-1"]["documents"]] == [str(scan.pk)]
    written = tmp_path / "documents" / records["A-1"]["documents"][0]["written_as"]
    assert written.name == f"{scan.pk}-id.png" and written.read_bytes() == PNG
    assert OTHER_ID_NUMBER not in output.read_text()
    # and: each record's export is audited and counted as a look by the ops lead
    exported = AuditEvent.objects.filter(action="personal_data_exported")
    assert sorted(exported.values_list("object_id", flat=True)) == sorted(
        [str(first.pk), str(second.pk)]
    )
    assert {event.actor for event in exported} == {lead}
    looks = PersonalDataAccess.objects.filter(source="subject_export")
    assert looks.count() == 7 and {look.user for look in looks} == {lead}
    assert looks.filter(attachment_id=scan.pk).count() == 1


def test_export_of_an_invalid_id_number_is_refused_and_records_nothing(application):
    application()
    with pytest.raises(CommandError):
        call_command("personal_data_export", "--id-number", "110105194912310021")
    assert not AuditEvent.objects.filter(action="personal_data_exported").exists()
    assert not PersonalDataAccess.objects.exists()


def test_erase_removes_the_person_where_no_duty_keeps_it_and_says_what_was_kept(
    application, make_user
):
    # given: the person on a closed application, an open one and one on legal hold
    lead = make_user(Role.OPS_LEAD)
    closed = application(number="CLOSED", closed_days_ago=2)
    still_open = application(number="OPEN")
    on_hold = application(number="HOLD", closed_days_ago=2, on_hold=True)
    other = application(number="OTHER", id_number=OTHER_ID_NUMBER, closed_days_ago=2)
    scan = _scan(closed, lead)
    # when: a dry run, then the erase command
    dry = io.StringIO()
    call_command("personal_data_erase", "--id-number", ID_NUMBER, "--dry-run", stdout=dry)
    assert not _erased(closed) and Attachment.objects.filter(pk=scan.pk).exists()
    out = io.StringIO()
    call_command("personal_data_erase", "--id-number", ID_NUMBER, "--by", lead.username, stdout=out)
    report = json.loads(out.getvalue())
    # then: the closed record is erased, the others are kept with their duty
    assert report["erased"] == [f"ssa_ops.buyerapplication#{closed.pk}"]
    assert sorted((kept["record"], kept["duty"]) for kept in report["kept"]) == sorted(
        [
            (f"ssa_ops.buyerapplication#{still_open.pk}", "record_open"),
            (f"ssa_ops.buyerapplication#{on_hold.pk}", "legal_hold"),
        ]
    )
    assert _erased(closed) and not Attachment.objects.filter(pk=scan.pk).exists()
    for record in (still_open, on_hold, other):
        record.refresh_from_db()
        assert record.id_number != ""
    [event] = AuditEvent.objects.filter(action="personal_data_erased")
    assert (event.object_id, event.actor) == (str(closed.pk), lead)
    # and: the dry run erased nothing and recorded nothing
    assert json.loads(dry.getvalue())["erased"] == [f"ssa_ops.buyerapplication#{closed.pk}"]


def test_the_rotate_command_re_encrypts_personal_documents_and_prints_a_new_key(
    application, make_user, settings
):
    from tests.personal_data_app.fixtures import OTHER_KEY

    saved = application()
    scan = _scan(saved, make_user(Role.OPS))
    settings.PERSONAL_DATA_KEYS = [OTHER_KEY, PERSONAL_KEY]
    out = io.StringIO()
    call_command("personal_data_rotate_key", stdout=out)
    assert "1 records and 1 documents" in out.getvalue()
    settings.PERSONAL_DATA_KEYS = [OTHER_KEY]
    from ssa_ops.attachments import attachment_read

    assert attachment_read(Attachment.objects.get(pk=scan.pk)) == PNG
    generated = io.StringIO()
    call_command("personal_data_rotate_key", "--generate", stdout=generated)
    assert len(generated.getvalue().strip()) == 44
