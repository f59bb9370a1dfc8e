import pytest

from claims.models import Claim
from ssa_ops.models import OutboundEmail
from ssa_ops.roles import Role
from tests.claims.factories import approved_account, document

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def api_login(api_login):
    """Signed in, reading the API in English."""

    def login(user):
        client = api_login(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return login


def test_the_dealer_files_uploads_and_submits_ops_pick_up_and_reject(setting, api_login, reasons):
    dealer = api_login(setting.dealer_user)
    # create a draft
    response = dealer.post("/api/v1/claims/", {"values": setting.values()}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["support_amount"]) == ("draft", "8000.00")
    assert body["documents_missing"] == ["Invoice"]
    pk = body["id"]
    # submitting without the invoice is a 409 naming it
    response = dealer.post(f"/api/v1/claims/{pk}/submit/")
    assert response.status_code == 409
    assert response.json() == {"code": "documents_missing", "detail": "Documents missing: Invoice."}
    # upload, then submit
    response = dealer.post(
        f"/api/v1/claims/{pk}/documents/",
        {"purpose": "invoice", "documents": [document(1)]},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["documents_missing"] == []
    response = dealer.post(f"/api/v1/claims/{pk}/submit/")
    assert (response.status_code, response.json()["status"]) == (200, "submitted")
    # ops take it from the queue and reject it with a coded reason
    ops = api_login(setting.ops)
    listed = ops.get("/api/v1/claims/").json()
    assert [c["id"] for c in listed["results"]] == [pk] and listed["next"] is None
    response = ops.post("/api/v1/claims/take-next/")
    assert (response.status_code, response.json()["status"]) == (200, "in_review")
    response = ops.post(f"/api/v1/claims/{pk}/reject/", {"reasons": []}, format="json")
    assert response.status_code == 400
    response = ops.post(
        f"/api/v1/claims/{pk}/reject/", {"reasons": ["NOT_ELIGIBLE"]}, format="json"
    )
    assert (response.status_code, response.json()["status"]) == (200, "rejected")
    # and the queue is empty
    assert ops.post("/api/v1/claims/take-next/").json()["code"] == "queue_empty"


def test_another_dealers_claim_is_a_404_and_wrong_state_a_409(setting, api_login, make_user):
    claim = setting.claim()
    other = make_user(Role.DEALER)
    client = api_login(other)
    assert client.get(f"/api/v1/claims/{claim.pk}/").status_code == 404
    assert client.post(f"/api/v1/claims/{claim.pk}/submit/").status_code == 404
    assert (
        client.put(f"/api/v1/claims/{claim.pk}/", {"values": {}}, format="json").status_code == 404
    )
    owner = api_login(setting.dealer_user)
    assert owner.post(f"/api/v1/claims/{claim.pk}/resubmit/").status_code == 409
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT


def test_an_invalid_value_is_a_400_naming_the_field(setting, api_login):
    client = api_login(setting.dealer_user)
    response = client.post(
        "/api/v1/claims/", {"values": setting.values(vin="LSVAU2181N2000001")}, format="json"
    )
    assert response.status_code == 400
    assert "vin" in response.json()["fields"]
    assert Claim.objects.count() == 0


def test_queue_pages_by_cursor_and_refuses_a_forged_one(setting, api_login):
    for _ in range(3):
        setting.claim(submit=True)
    client = api_login(setting.ops)
    from claims import selectors

    selectors.QUEUE_PAGE_SIZE  # noqa: B018 (the page size is the selector's)
    first = client.get("/api/v1/claims/", {"sort": "-waiting"}).json()
    assert len(first["results"]) == 3 and first["next"] is None
    for cursor in ("xx", "W10", "WyJhIiwiYiJd", "\x00"):
        response = client.get("/api/v1/claims/", {"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json()["code"] == "invalid_parameter"
    assert client.get("/api/v1/claims/", {"status": "nope"}).status_code == 400
    assert client.get("/api/v1/claims/", {"sort": "nope"}).status_code == 400


def test_cursor_pages(setting, api_login, monkeypatch):
    from claims import selectors

    monkeypatch.setattr(selectors, "QUEUE_PAGE_SIZE", 2)
    monkeypatch.setattr(selectors.keyset_page, "__kwdefaults__", {"after": None, "size": 2})
    claims = [setting.claim(submit=True) for _ in range(3)]
    client = api_login(setting.ops)
    first = client.get("/api/v1/claims/").json()
    second = client.get("/api/v1/claims/", {"cursor": first["next"]}).json()
    assert [c["id"] for c in first["results"] + second["results"]] == [c.pk for c in claims]
    assert second["next"] is None


def test_preapplication_api_and_the_dealer_email(setting, api_login, reasons):
    from dealers.models import DealerContact

    DealerContact.objects.create(
        dealer=setting.dealer_user.dealer,
        role=DealerContact.Role.SPECIAL_SALES,
        name="王",
        phone="13800000000",
        email="sales@dealer.example.com",
    )
    client = api_login(setting.dealer_user)
    values = {
        "program": setting.program.pk,
        "corporate_account": setting.account.pk,
        "lines": [{"model": setting.model_code, "units": 2}],
        "delivery_month": "2027-03",
    }
    response = client.post("/api/v1/preapplications/", {"values": values}, format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert client.post(f"/api/v1/preapplications/{pk}/submit/").json()["status"] == "submitted"
    ops = api_login(setting.ops)
    queue = ops.get("/api/v1/preapplications/", {"queue": "true"}).json()
    assert ([r["id"] for r in queue["results"]], queue["next"]) == ([pk], None)
    assert ops.get("/api/v1/preapplications/", {"program": 10**6}).json()["results"] == []
    assert ops.get("/api/v1/preapplications/", {"cursor": "zz"}).status_code == 400
    response = ops.post(f"/api/v1/preapplications/{pk}/approve/", {}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "approved")
    assert OutboundEmail.objects.filter(
        template="claims_record_status", to=["sales@dealer.example.com"]
    ).exists()


def test_dealer2_sees_none_of_dealer1s_records(setting, api_login, make_user):
    setting.claim()
    other = make_user(Role.DEALER)
    approved_account(dealer_user=other, ops=setting.ops)
    client = api_login(other)
    assert client.get("/api/v1/claims/", {"status": "draft"}).json()["results"] == []
    assert client.get("/api/v1/preapplications/").json() == {"results": [], "next": None}


def test_the_queue_api_reads_a_page_in_queries_that_do_not_grow_with_it(setting, api_login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from claims import selectors

    for _ in range(6):
        setting.claim(submit=True)
    client = api_login(setting.ops)
    counts = []
    for size in (2, 6):
        selectors.keyset_page.__kwdefaults__["size"] = size
        try:
            with CaptureQueriesContext(connection) as queries:
                response = client.get("/api/v1/claims/")
        finally:
            selectors.keyset_page.__kwdefaults__["size"] = selectors.QUEUE_PAGE_SIZE
        assert len(response.json()["results"]) == size
        assert not any("COUNT(" in q["sql"].upper() for q in queries)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_vip_claims_buyer_id_is_masked_and_shown_in_full_only_on_request(make_user, api_login):
    import datetime

    from programs.models import Program
    from tests.claims.factories import approved_vip_application, vin
    from tests.programs.factories import program_with_rule

    ops, dealer_user = make_user(Role.OPS), make_user(Role.DEALER)
    program = program_with_rule(type=Program.Type.VIP)
    application = approved_vip_application(ops=ops, dealer=dealer_user.dealer, program=program)
    id_number = application.id_number.reveal()
    dealer = api_login(dealer_user)
    today = datetime.date.today()
    values = {
        "program": program.pk,
        "special_application": application.pk,
        "vin": vin(),
        "vehicle_model": program.rules.get().eligible_models[0]["model"],
        "invoice_number": "VIP-1",
        "invoice_date": today.isoformat(),
        "invoice_amount": "300000",
        "buyer_name": "李明",
        "buyer_id_number": id_number,
        "delivery_date": today.isoformat(),
    }
    response = dealer.post("/api/v1/claims/", {"values": values}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["customer_kind"] == "application"
    assert body["buyer_id_number"] != id_number and "*" in body["buyer_id_number"]
    url = f"/api/v1/claims/{body['id']}/personal-data/buyer_id_number/"
    assert dealer.post(url, {}, format="json").status_code == 403
    shown = api_login(ops).post(url, {"reason": "checking the ID card"}, format="json")
    assert shown.status_code == 200
    assert shown.json() == {"field": "buyer_id_number", "value": id_number}
    # the page shows it masked, with a button to show it for those who may
    from django.test import Client

    page_client = Client()
    page_client.force_login(ops)
    page = page_client.get(f"/claims/{body['id']}/").content.decode()
    assert body["buyer_id_number"] in page and id_number not in page
    assert f"/claims/{body['id']}/personal-data/buyer_id_number/" in page
    # another person's ID number is refused
    other = {**values, "vin": vin(), "buyer_id_number": "11010519491231002X"}
    response = dealer.post("/api/v1/claims/", {"values": other}, format="json")
    assert response.status_code == 400
    assert "buyer_id_number" in response.json()["fields"]
