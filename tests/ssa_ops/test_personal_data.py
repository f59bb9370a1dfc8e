"""Personal information at rest and in use: encrypted in the database and its dumps, found by
its keyed hash, readable after a key rotation, masked in pages, exports, emails and the API,
shown in full only on an explicit, recorded look."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import isolate_apps
from openpyxl import load_workbook
from PIL import Image

from ssa_ops.attachments import attachments_create
from ssa_ops.models import PersonalDataAccess
from ssa_ops.notifications import email_queue
from ssa_ops.personal_data import (
    PersonalDataField,
    PersonalHashField,
    PersonalValue,
    mask,
    personal_hash,
    personal_lookup,
    resident_id_valid,
)
from ssa_ops.personal_data_keys import development_keys, key_id, personal_data_keys_check
from ssa_ops.roles import Role
from tests.personal_data_app import fixtures
from tests.personal_data_app.fixtures import OTHER_KEY, PERSONAL_KEY

personal_app, personal_settings = fixtures.personal_app, fixtures.personal_settings

ID_NUMBER = "11010519491231002X"
OTHER_ID_NUMBER = "440524188001010014"
PHONE = "13800138000"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_settings")]


@pytest.fixture
def application(db, personal_app):
    def make(**fields):
        values = {"number": "A-1", "id_number": ID_NUMBER, "phone": PHONE, **fields}
        return personal_app.objects.create(**values)

    return make


def _raw_column(model, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_the_numbers_of_the_examples_are_valid_resident_ids():
    assert resident_id_valid(ID_NUMBER) and resident_id_valid(OTHER_ID_NUMBER)
    assert not resident_id_valid("110105194912310021")


# At rest ---------------------------------------------------------------------------------------


def test_no_id_number_or_phone_is_readable_in_the_table_or_in_a_dump(application, personal_app):
    # given: two applications with ID numbers and phones
    application(number="A-1")
    application(number="A-2", id_number=OTHER_ID_NUMBER, phone="13912345678")
    # when: the table is read as it is, and the database is dumped
    stored = _raw_column(personal_app, "id_number") + _raw_column(personal_app, "phone")
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    # then: only ciphertext with the key's id, in the table and in the dump
    prefix = f"pd1:{key_id(_raw(PERSONAL_KEY))}:"
    assert all(value.startswith(prefix) for value in stored)
    for clear in (ID_NUMBER, OTHER_ID_NUMBER, PHONE, "13912345678", "110105", "0138000"):
        assert clear not in dump.getvalue()
        assert not any(clear in value for value in stored)
    rows = [
        row for row in json.loads(dump.getvalue()) if row["model"] == "ssa_ops.buyerapplication"
    ]
    assert [row["fields"]["id_number"][:4] for row in rows] == ["pd1:", "pd1:"]


def _raw(text):
    import base64

    return base64.urlsafe_b64decode(text)


def test_the_same_id_number_on_two_records_is_found_by_its_hash(application, personal_app):
    # given: one ID number on two applications, written differently, and another
    first = application(number="A-1", id_number=ID_NUMBER)
    second = application(number="A-2", id_number="110105 19491231 002x")
    application(number="A-3", id_number=OTHER_ID_NUMBER)
    # when: looked up by the hash of the value
    found = personal_app.objects.filter(id_number_hash=personal_hash("id_number", ID_NUMBER))
    # then: both, and nothing else; the helper says the same
    assert list(found) == [first, second]
    assert list(personal_app.objects.filter(personal_lookup(personal_app, "id_number", ID_NUMBER)))
    assert second.id_number.reveal() == ID_NUMBER


def test_looking_an_encrypted_field_up_by_value_is_refused(application, personal_app):
    application()
    with pytest.raises(FieldError):
        list(personal_app.objects.filter(id_number=ID_NUMBER))
    assert personal_app.objects.filter(phone="").count() == 0


def test_a_rotated_key_still_reads_old_values_and_the_command_re_encrypts(
    application, personal_app, settings
):
    # given: an application written under the first key
    saved = application()
    # when: a new key is put first, the old one kept after it
    settings.PERSONAL_DATA_KEYS = [OTHER_KEY, PERSONAL_KEY]
    # then: the old value still reads
    assert personal_app.objects.get(pk=saved.pk).id_number.reveal() == ID_NUMBER
    # when: the rotate command runs, and the old key is then dropped
    out = io.StringIO()
    call_command("personal_data_rotate_key", stdout=out)
    settings.PERSONAL_DATA_KEYS = [OTHER_KEY]
    # then: every value is under the new key and reads without the old one
    assert "Re-encrypted 1 records" in out.getvalue()
    new_id = key_id(_raw(OTHER_KEY))
    assert all(v.startswith(f"pd1:{new_id}:") for v in _raw_column(personal_app, "id_number"))
    assert personal_app.objects.get(pk=saved.pk).phone.reveal() == PHONE


def test_a_new_hash_key_with_the_rotate_command_keeps_lookups_working(
    application, personal_app, settings
):
    saved = application()
    settings.PERSONAL_DATA_HASH_KEY = OTHER_KEY
    assert not personal_app.objects.filter(personal_lookup(personal_app, "id_number", ID_NUMBER))
    call_command("personal_data_rotate_key", stdout=io.StringIO())
    found = personal_app.objects.filter(personal_lookup(personal_app, "id_number", ID_NUMBER))
    assert list(found) == [saved]


def test_a_value_under_a_key_no_longer_configured_is_refused_clearly(
    application, personal_app, settings
):
    saved = application()
    settings.PERSONAL_DATA_KEYS = [OTHER_KEY]
    with pytest.raises(ImproperlyConfigured, match="not among PERSONAL_DATA_KEYS"):
        personal_app.objects.get(pk=saved.pk)


def test_missing_keys_are_a_start_up_error_and_refuse_any_use(settings):
    settings.PERSONAL_DATA_KEYS = []
    assert [error.id for error in personal_data_keys_check()] == ["ssa_ops.E101"]
    with pytest.raises(ImproperlyConfigured, match="PERSONAL_DATA_KEYS"):
        personal_hash("id_number", ID_NUMBER)
    settings.PERSONAL_DATA_KEYS = ["not-a-key"]
    assert [error.id for error in personal_data_keys_check()] == ["ssa_ops.E102"]


def test_with_debug_off_and_no_keys_migrate_stops_with_a_clear_message(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PERSONAL_DATA", "DATABASE_URL", "DJANGO_SETTINGS"))
    }
    env.update(
        DEBUG="0",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="testserver",
        SSA_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="ssa_ops.settings",
    )
    manage = [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py")]
    result = subprocess.run(
        [*manage, "migrate", "--plan"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "PERSONAL_DATA_KEYS and PERSONAL_DATA_HASH_KEY are not set" in result.stderr
    assert not (tmp_path / "personal_data_keys.json").exists()


def test_debug_generates_development_keys_once_under_var_and_says_so(tmp_path, caplog):
    keys, hash_key = development_keys(tmp_path)
    again = development_keys(tmp_path)
    path = tmp_path / "personal_data_keys.json"
    assert again == (keys, hash_key) and len(keys) == 1 and hash_key != keys[0]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    generated = [r for r in caplog.records if "generated development keys" in r.getMessage()]
    assert len(generated) == 1


# In use: masked by default ---------------------------------------------------------------------


def test_values_are_masked_wherever_they_are_turned_into_text(application):
    saved = application(employee_number="E1234567")
    assert str(saved.id_number) == "110105********002X"
    assert f"{saved.phone}" == "138****8000" and repr(saved.phone).count("8000") == 1
    assert str(saved.employee_number) == "E1****67"
    assert mask("bank_account", "6222 0212 3456 7890") == "6222********7890"
    assert isinstance(saved.id_number, PersonalValue) and saved.id_number == ID_NUMBER


def test_an_edit_form_shows_values_masked_and_keeps_them_when_sent_back_unchanged(
    application, personal_app
):
    from django import forms

    class ApplicationForm(forms.ModelForm):
        class Meta:
            model = personal_app
            fields = ["number", "id_number", "phone"]

    # given: an application's edit form
    saved = application()
    shown = str(ApplicationForm(instance=saved))
    assert 'value="110105********002X"' in shown and ID_NUMBER not in shown
    # when: it comes back with the masked ID number as shown and a new phone
    data = {"number": "A-1", "id_number": "110105********002X", "phone": "139 1234 5678"}
    form = ApplicationForm(data, instance=saved)
    assert form.is_valid(), form.errors
    form.save()
    # then: the ID number is unchanged, the phone is the new one
    saved = personal_app.objects.get(pk=saved.pk)
    assert (saved.id_number.reveal(), saved.phone.reveal()) == (ID_NUMBER, "13912345678")
    # and: an ID number whose check character is wrong is refused, nothing saved
    refused = ApplicationForm({**data, "id_number": "110105194912310021"}, instance=saved)
    assert not refused.is_valid() and refused.errors["id_number"]
    assert personal_app.objects.get(pk=saved.pk).id_number.reveal() == ID_NUMBER


def test_a_model_serializer_checks_the_id_number_and_stores_it_encrypted(personal_app):
    from tests.personal_data_app.views import BuyerApplicationSerializer

    refused = BuyerApplicationSerializer(
        data={"number": "A-1", "id_number": "110105194912310021", "phone": PHONE}
    )
    assert not refused.is_valid() and list(refused.errors) == ["id_number"]
    accepted = BuyerApplicationSerializer(
        data={"number": "A-1", "id_number": ID_NUMBER.lower(), "phone": PHONE}
    )
    assert accepted.is_valid(), accepted.errors
    saved = accepted.save()
    assert accepted.data["id_number"] == "110105********002X"
    assert _raw_column(personal_app, "id_number")[0].startswith("pd1:")
    assert personal_app.objects.get(pk=saved.pk).id_number.reveal() == ID_NUMBER
    assert personal_app.objects.count() == 1


def test_a_list_page_shows_values_masked_and_a_show_button_only_to_those_who_may(
    client, application, make_user
):
    application()
    for role, show in ((Role.OPS, True), (Role.QC, False)):
        client.force_login(make_user(role))
        page = client.get("/applications/").content.decode()
        assert "110105********002X" in page and "138****8000" in page
        assert ID_NUMBER not in page and PHONE not in page
        assert ('id="show-id_number"' in page) is show


def test_an_export_holds_masked_values(client, application, make_user):
    application()
    client.force_login(make_user(Role.OPS))
    workbook = load_workbook(io.BytesIO(client.get("/applications/export/").content))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[1] == ("A-1", "110105********002X", "138****8000")


def test_an_email_shows_values_masked(application, django_capture_on_commit_callbacks):
    saved = application()
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(
            to="buyer@example.com",
            template="buyer_notice",
            context={"application": saved},
            language="en",
        )
    body = mail.outbox[0].body + mail.outbox[0].alternatives[0][0]
    assert "110105********002X" in body and "138****8000" in body
    assert ID_NUMBER not in body and PHONE not in body


def test_the_api_shows_values_masked(api_login, application, make_user):
    application()
    response = api_login(make_user(Role.OPS)).get("/api/v1/applications/")
    assert response.status_code == 200
    assert response.json()[0]["id_number"] == "110105********002X"
    assert response.json()[0]["phone"] == "138****8000"
    assert ID_NUMBER not in response.content.decode()


# In use: shown on an explicit, recorded look ----------------------------------------------------


def test_an_ops_lead_sees_the_value_in_full_and_the_look_is_recorded(
    client, application, make_user
):
    # given: an application and an ops lead on its page
    saved = application()
    lead = make_user(Role.OPS_LEAD)
    client.force_login(lead)
    # when: the ops lead presses Show
    response = client.post(
        f"/applications/{saved.pk}/personal-data/id_number/", {"next": "/applications/"}
    )
    # then: the page holds the value in full, is not cached, and the look is recorded
    assert response.status_code == 200
    assert ID_NUMBER in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    look = PersonalDataAccess.objects.get()
    assert (look.user, look.user_name, look.object_id, look.field, look.source) == (
        lead,
        lead.username,
        str(saved.pk),
        "id_number",
        "html",
    )
    assert look.content_type.model_class() is type(saved)
    assert look.client_address == "127.0.0.1" and look.created_at is not None


def test_a_role_without_the_permission_is_refused_and_nothing_is_recorded(
    client, application, make_user
):
    saved = application()
    client.force_login(make_user(Role.QC))
    response = client.post(f"/applications/{saved.pk}/personal-data/id_number/")
    assert response.status_code == 403
    assert ID_NUMBER not in response.content.decode()
    assert not PersonalDataAccess.objects.exists()


def test_a_record_outside_the_users_scope_is_not_found_and_nothing_is_recorded(
    client, application, make_user
):
    saved = application()
    client.force_login(make_user(Role.DEALER))
    assert client.post(f"/applications/{saved.pk}/personal-data/id_number/").status_code == 404
    client.force_login(make_user(Role.OPS))
    assert client.post(f"/applications/{saved.pk}/personal-data/amount/").status_code == 404
    assert client.get(f"/applications/{saved.pk}/personal-data/id_number/").status_code == 405
    assert not PersonalDataAccess.objects.exists()


def test_the_api_shows_a_value_on_an_explicit_post_and_records_it(
    api_login, application, make_user
):
    saved = application()
    ops = make_user(Role.OPS)
    url = f"/api/v1/applications/{saved.pk}/personal-data/phone/"
    response = api_login(ops).post(url, {"reason": "call the buyer"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"field": "phone", "value": PHONE}
    assert response["Cache-Control"] == "no-store"
    look = PersonalDataAccess.objects.get()
    assert (look.user, look.field, look.source, look.reason) == (
        ops,
        "phone",
        "api",
        "call the buyer",
    )
    # a role without the permission: 403 with a code, nothing recorded
    refused = api_login(make_user(Role.QC)).post(url, {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "personal_data_denied"
    assert PersonalDataAccess.objects.count() == 1


def test_the_access_log_is_read_and_exported_by_ops_leads_and_admins_only(
    client, application, make_user
):
    # given: two looks by ops
    saved = application()
    ops = make_user(Role.OPS, username="checker")
    client.force_login(ops)
    client.post(f"/applications/{saved.pk}/personal-data/id_number/")
    client.post(f"/applications/{saved.pk}/personal-data/phone/")
    # then: ops may not read the log, nor see it in the navigation
    assert 'href="/personal-data/access/"' not in client.get("/").content.decode()
    assert client.get("/personal-data/access/").status_code == 403
    assert client.get("/personal-data/access/export/").status_code == 403
    for role in (Role.OPS_LEAD, Role.ADMIN):
        client.force_login(make_user(role, language="en"))
        assert 'href="/personal-data/access/"' in client.get("/").content.decode()
        page = client.get("/personal-data/access/?user=checker").content.decode()
        assert page.count("<td>checker</td>") == 2 and "ID number" in page
        assert ID_NUMBER not in page
        workbook = load_workbook(io.BytesIO(client.get("/personal-data/access/export/").content))
        rows = list(workbook.active.iter_rows(values_only=True))
        assert rows[0][:5] == ("Time", "User", "Record", "Field", "Field code")
        assert sorted(row[4] for row in rows[1:]) == ["id_number", "phone"]
        assert {row[1] for row in rows[1:]} == {"checker"}


def test_the_access_log_cannot_be_changed(application, make_user):
    from ssa_ops.personal_data import personal_data_show

    saved = application()
    personal_data_show(user=make_user(Role.OPS), instance=saved, field_name="id_number")
    look = PersonalDataAccess.objects.get()
    with pytest.raises(TypeError):
        look.save()
    with pytest.raises(TypeError):
        PersonalDataAccess.objects.all().delete()
    assert PersonalDataAccess.objects.count() == 1


# Documents -------------------------------------------------------------------------------------


def _png():
    output = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(output, "PNG")
    return output.getvalue()


def _tiff():
    output = io.BytesIO()
    Image.new("L", (40, 30), 128).save(output, "TIFF")
    return output.getvalue()


def test_an_id_card_scan_is_stored_encrypted_and_opened_only_by_those_who_may(
    client, application, make_user
):
    # given: a dealer-side user uploaded a buyer's ID card scan
    saved = application()
    content = _png()
    uploader = make_user(Role.OPS)
    [scan] = attachments_create(
        owner=saved,
        uploads=[SimpleUploadedFile("id.png", content)],
        actor=uploader,
        purpose="test_id_card",
    )
    # then: the stored file is not the scan
    with scan.file.open("rb") as handle:
        stored = handle.read()
    assert stored.startswith(b"SSAPD1") and content not in stored and b"PNG" not in stored[:40]
    # when: quality check (sees the record, may not see personal data) asks for it
    client.force_login(make_user(Role.QC))
    assert client.get(f"/attachments/{scan.pk}/").status_code == 403
    assert not PersonalDataAccess.objects.exists()
    # when: an ops lead opens it
    lead = make_user(Role.OPS_LEAD)
    client.force_login(lead)
    response = client.get(f"/attachments/{scan.pk}/?inline=1")
    # then: the scan as uploaded, the look recorded against the application
    assert response.status_code == 200 and b"".join(response.streaming_content) == content
    look = PersonalDataAccess.objects.get()
    assert (look.user, look.field, look.object_id, look.attachment_id) == (
        lead,
        "document:test_id_card",
        str(saved.pk),
        scan.pk,
    )


def test_an_id_or_phone_number_in_a_personal_documents_name_is_not_stored(application, make_user):
    saved = application()
    [scan] = attachments_create(
        owner=saved,
        uploads=[SimpleUploadedFile(f"{ID_NUMBER}-身份证-{PHONE}.png", _png())],
        actor=make_user(Role.OPS),
        purpose="test_id_card",
    )
    scan.refresh_from_db()
    assert scan.original_name == "110105********002X-身份证-138****8000.png"


def test_a_personal_tiff_gets_encrypted_pages_and_no_stored_text(
    client, application, make_user, django_capture_on_commit_callbacks
):
    saved = application()
    with django_capture_on_commit_callbacks(execute=True):
        [scan] = attachments_create(
            owner=saved,
            uploads=[SimpleUploadedFile("id.tif", _tiff())],
            actor=make_user(Role.OPS),
            purpose="test_id_card",
        )
    scan.refresh_from_db()
    [page] = scan.renditions.all()
    with page.file.open("rb") as handle:
        assert handle.read().startswith(b"SSAPD1")
    assert scan.rendition_status == "ready" and scan.rendition_text == []
    client.force_login(make_user(Role.OPS))
    response = client.get(f"/attachments/{scan.pk}/pages/1/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert PersonalDataAccess.objects.get().field == "document:test_id_card"


def test_an_ordinary_document_is_stored_as_it_is_and_opens_without_a_record(
    client, application, make_user
):
    saved = application()
    content = _png()
    [document] = attachments_create(
        owner=saved,
        uploads=[SimpleUploadedFile("invoice.png", content)],
        actor=make_user(Role.OPS),
        purpose="invoice",
    )
    with document.file.open("rb") as handle:
        assert handle.read() == content
    client.force_login(make_user(Role.QC))
    assert client.get(f"/attachments/{document.pk}/").status_code == 200
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dump_after_seed_demo_holds_no_resident_id_number_in_clear_text(settings, personal_app):
    # given: the demo data (later apps seed their ID numbers there), plus applications
    settings.DEBUG = True  # seed_demo is for development
    call_command("seed_demo", stdout=io.StringIO())
    personal_app.objects.create(number="A-1", id_number=ID_NUMBER, phone=PHONE)
    personal_app.objects.create(number="A-2", id_number=OTHER_ID_NUMBER)
    # when: the whole database is dumped
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    # then: no 18-character run in it is a valid resident ID number
    candidates = re.findall(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])", dump.getvalue())
    assert [value for value in candidates if resident_id_valid(value.upper())] == []
    assert ID_NUMBER not in dump.getvalue() and OTHER_ID_NUMBER not in dump.getvalue()


@isolate_apps("ssa_ops")
def test_a_wrongly_declared_field_is_a_start_up_error():
    class Wrong(models.Model):
        id_number = PersonalDataField(kind="id_number", unique=True)
        phone_hash = PersonalHashField(source="phone")

        class Meta:
            app_label = "ssa_ops"

        def __str__(self):
            return "wrong"

    assert {"ssa_ops.E103", "ssa_ops.E104"} <= {error.id for error in Wrong.check()}


def test_the_show_endpoint_is_in_the_api_schema(personal_app):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(urlconf="tests.personal_data_app.urls").get_schema(public=True)
    operation = schema["paths"]["/api/v1/applications/{id}/personal-data/{field}/"]["post"]
    assert operation["operationId"] == "buyer_application_personal_data_show"
