"""/api/v1/programs/: list, detail, create, one POST per transition; 404 outside scope, 403
without permission, 409 not now, JSON errors with a code."""

import datetime

import pytest

from programs import services
from programs.models import CorporateAccount, Qualification
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory
from tests.programs.factories import (
    account_values,
    png_upload,
    program_with_rule,
    resident_id,
    vip_application,
)
from tests.ssa_ops.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _account(dealer_user, *, submit=True):
    account = services.corporate_account_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=account_values()
    )
    if submit:
        services.corporate_account_submit(actor=dealer_user, pk=account.pk)
    return account


def test_a_dealer_registers_and_submits_an_account_through_the_api(make_user, api_login):
    dealer_user = make_user(Role.DEALER)
    client = api_login(dealer_user)
    response = client.post(
        "/api/v1/programs/accounts/", {"values": account_values(), "submit": True}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "submitted"
    assert response.json()["dealer"] == dealer_user.dealer_id


def test_an_account_is_reset_with_coded_reasons_through_the_api(make_user, api_login, reasons):
    dealer_user, ops = make_user(Role.DEALER), make_user(Role.OPS)
    account = _account(dealer_user)
    client = api_login(ops)
    url = f"/api/v1/programs/accounts/{account.pk}/reset/"
    missing = client.post(url, {"comment": "x"}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "invalid"
    unknown = client.post(url, {"reasons": ["NOPE"]}, format="json")
    assert unknown.status_code == 400 and "reasons" in unknown.json()["fields"]
    account.refresh_from_db()
    assert account.status == "submitted"
    done = client.post(url, {"reasons": ["DOC_MISSING"], "comment": "执照模糊"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "reset"
    again = client.post(url, {"reasons": ["DOC_MISSING"]}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "transition_not_allowed"


def test_a_dealer_may_not_decide_and_another_dealer_gets_404(make_user, api_login, reasons):
    dealer_user = make_user(Role.DEALER)
    account = _account(dealer_user)
    own = api_login(dealer_user).post(
        f"/api/v1/programs/accounts/{account.pk}/approve/", {}, format="json"
    )
    assert own.status_code == 403 and own.json()["code"] == "permission_denied"
    other = api_login(make_user(Role.DEALER))
    assert other.get(f"/api/v1/programs/accounts/{account.pk}/").status_code == 404
    assert (
        other.post(
            f"/api/v1/programs/accounts/{account.pk}/approve/", {}, format="json"
        ).status_code
        == 404
    )
    account.refresh_from_db()
    assert account.status == CorporateAccount.Status.SUBMITTED


def test_a_duplicate_credit_code_answers_with_a_pointer(make_user, api_login):
    first = make_user(Role.DEALER)
    account = _account(first, submit=False)
    response = api_login(make_user(Role.DEALER)).post(
        "/api/v1/programs/accounts/",
        {"values": account_values(credit_code=account.credit_code)},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "credit_code_registered"
    assert response.json()["account"] == account.number
    assert "account_id" not in response.json()


def test_ops_record_and_send_an_application_and_see_its_steps(make_user, api_login):
    ops = make_user(Role.OPS)
    program = program_with_rule()
    rule = program.rules.get()
    dealer = DealerFactory()
    client = api_login(ops)
    response = client.post(
        "/api/v1/programs/applications/",
        {
            "program": program.pk,
            "dealer": dealer.pk,
            "vehicle_model": rule.eligible_models[0]["model"],
            "values": {
                "applicant_name": "张伟",
                "id_number": resident_id(),
                "organisation": "协会",
                "title": "秘书长",
            },
            "submit": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "signing" and body["support_amount"] == "8000.00"
    assert body["id_number"] != resident_id() and body["id_number"].endswith(resident_id()[-1])
    detail = client.get(f"/api/v1/programs/applications/{body['id']}/").json()
    assert [s["status"] for s in detail["steps"]] == ["pending", "waiting"]
    step = detail["steps"][0]["id"]
    resent = client.post(f"/api/v1/programs/applications/{body['id']}/steps/{step}/resend/")
    assert resent.status_code == 200
    reassigned = client.post(
        f"/api/v1/programs/applications/{body['id']}/steps/{step}/reassign/",
        {"approver_name": "新经理", "approver_email": "new@corp.example.com"},
        format="json",
    )
    assert reassigned.json()["approver_email"] == "new@corp.example.com"


def test_an_invalid_id_number_is_a_400_naming_the_field(make_user, api_login):
    ops = make_user(Role.OPS, language="en")
    program = program_with_rule()
    number = resident_id()
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    response = api_login(ops).post(
        "/api/v1/programs/applications/",
        {
            "program": program.pk,
            "dealer": DealerFactory().pk,
            "vehicle_model": program.rules.get().eligible_models[0]["model"],
            "values": {
                "applicant_name": "x",
                "id_number": wrong,
                "organisation": "o",
                "title": "t",
            },
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json()["fields"]["id_number"] == [
        "The check character of this ID number is wrong."
    ]


def test_the_rule_in_force_on_a_date(make_user, api_login):
    program = program_with_rule(valid_from=datetime.date(2026, 1, 1))
    client = api_login(make_user(Role.DEALER))
    assert client.get(f"/api/v1/programs/{program.pk}/rule/?on=2026-02-01").json()["version"] == 1
    before = client.get(f"/api/v1/programs/{program.pk}/rule/?on=2025-02-01")
    assert before.status_code == 404 and before.json()["code"] == "no_rule_in_force"
    bad = client.get(f"/api/v1/programs/{program.pk}/rule/?on=tomorrow")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_parameter"


def test_only_ops_leads_add_rule_versions(make_user, api_login):
    program = program_with_rule()
    body = {"valid_from": "2099-01-01", "values": {}}
    refused = api_login(make_user(Role.OPS)).post(
        f"/api/v1/programs/{program.pk}/rule/", body, format="json"
    )
    assert refused.status_code == 403
    invalid = api_login(make_user(Role.OPS_LEAD)).post(
        f"/api/v1/programs/{program.pk}/rule/", body, format="json"
    )
    assert invalid.status_code == 400 and "eligible_models" in invalid.json()["fields"]
    assert program.rules.count() == 1


def test_the_vendor_sees_only_its_companys_checks_and_returns_a_result(
    make_user, api_login, reasons
):
    dealer_user = make_user(Role.DEALER)
    program = program_with_rule(type="employee")
    qualification = services.qualification_create(
        actor=dealer_user,
        program=program,
        dealer=dealer_user.dealer,
        values={"customer_name": "赵静", "id_number": resident_id(), "employer_name": "伙伴公司"},
        documents=[png_upload()],
    )
    services.qualification_submit(actor=dealer_user, pk=qualification.pk)
    vendor_user = UserFactory(role=Role.VENDOR, vendor=program.checking_vendor)
    other_vendor = UserFactory(
        role=Role.VENDOR, vendor=program_with_rule(type="employee").checking_vendor
    )
    assert api_login(other_vendor).get("/api/v1/programs/qualifications/").json()["results"] == []
    assert (
        api_login(other_vendor)
        .post(
            f"/api/v1/programs/qualifications/{qualification.pk}/check_fail/",
            {"reasons": ["NOT_ELIGIBLE"]},
            format="json",
        )
        .status_code
        == 404
    )
    client = api_login(vendor_user)
    assert [q["id"] for q in client.get("/api/v1/programs/qualifications/").json()["results"]] == [
        qualification.pk
    ]
    response = client.post(
        f"/api/v1/programs/qualifications/{qualification.pk}/check_fail/",
        {"reasons": ["NOT_ELIGIBLE"], "comment": "社保记录不符"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "failed"
    qualification.refresh_from_db()
    assert qualification.status == Qualification.Status.FAILED


def test_reasons_are_listed_for_a_kind(make_user, api_login, reasons):
    response = api_login(make_user(Role.OPS)).get(
        "/api/v1/reasons/?kind=programs.corporateaccount&active=1"
    )
    assert [r["code"] for r in response.json()] == ["DOC_MISSING", "NOT_ELIGIBLE"]


def test_applications_list_is_scoped_to_the_dealer(make_user, api_login):
    ops, dealer_user = make_user(Role.OPS), make_user(Role.DEALER)
    mine = vip_application(ops=ops, dealer=dealer_user.dealer)
    vip_application(ops=ops, dealer=DealerFactory())
    listed = api_login(dealer_user).get("/api/v1/programs/applications/").json()["results"]
    assert [a["id"] for a in listed] == [mine.pk]
    bad_sort = api_login(ops).get("/api/v1/programs/applications/?sort=secret")
    assert bad_sort.status_code == 400


def test_ops_leads_add_programs_and_everyone_reads_the_model_catalog(make_user, api_login):
    body = {"code": "FLEET-X", "type": "fleet", "name_zh": "车队项目"}
    assert (
        api_login(make_user(Role.OPS)).post("/api/v1/programs/", body, format="json").status_code
        == 403
    )
    lead = api_login(make_user(Role.OPS_LEAD))
    created = lead.post("/api/v1/programs/", body, format="json")
    assert created.status_code == 201 and created.json()["code"] == "FLEET-X"
    again = lead.post("/api/v1/programs/", body, format="json")
    assert again.status_code == 400 and "code" in again.json()["fields"]
    program_with_rule()
    models = api_login(make_user(Role.DEALER)).get("/api/v1/programs/models/").json()["results"]
    assert [m["msrp"] for m in models] == ["250000.00"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/programs/?type=a%00b",
        "/api/v1/programs/accounts/?q=a%00b",
        "/api/v1/programs/applications/?status=a%00b",
        "/api/v1/programs/qualifications/?q=a%00b",
        "/api/v1/reasons/?kind=a%00b",
    ],
)
def test_a_filter_with_nul_is_a_400_never_a_query(make_user, api_login, url):
    response = api_login(make_user(Role.OPS)).get(url)
    assert response.status_code == 400 and response.json()["code"] == "invalid_parameter"


def test_the_dealer_reads_why_its_account_was_reset(make_user, api_login, reasons):
    dealer_user, ops = make_user(Role.DEALER), make_user(Role.OPS)
    account = _account(dealer_user)
    services.corporate_account_reset(
        actor=ops, pk=account.pk, reasons=["DOC_MISSING"], reason="请上传清晰的营业执照"
    )
    history = api_login(dealer_user).get(f"/api/v1/programs/accounts/{account.pk}/history/")
    latest = history.json()[0]
    assert (latest["action"], latest["reason_codes"]) == ("reset", ["DOC_MISSING"])
    assert latest["reason_labels"] and "请上传清晰的营业执照" in latest["reason"]
    other = api_login(make_user(Role.DEALER))
    assert other.get(f"/api/v1/programs/accounts/{account.pk}/history/").status_code == 404


def test_documents_are_attached_through_the_api_while_editable(make_user, api_login):
    dealer_user = make_user(Role.DEALER)
    account = _account(dealer_user, submit=False)
    client = api_login(dealer_user)
    url = f"/api/v1/programs/accounts/{account.pk}/documents/"
    response = client.post(url, {"documents": [png_upload("执照.png")]}, format="multipart")
    assert response.status_code == 200, response.content
    assert [d["original_name"] for d in response.json()["documents"]] == ["执照.png"]
    services.corporate_account_submit(actor=dealer_user, pk=account.pk)
    refused = client.post(url, {"documents": [png_upload()]}, format="multipart")
    assert refused.status_code == 400 and refused.json()["code"] == "not_editable"
    assert len(client.get(f"/api/v1/programs/accounts/{account.pk}/").json()["documents"]) == 1
