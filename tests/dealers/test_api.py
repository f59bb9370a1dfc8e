import io

import openpyxl
import pytest
from rest_framework.test import APIClient

from dealers.models import DealerChangeRequest
from ssa_ops.audit import audit_events_for
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory, RegionFactory

pytestmark = pytest.mark.django_db


def api_as(user):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": "demo"}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION="Token " + response.json()["token"])
    return client


@pytest.fixture
def dealer_user(make_user):
    return make_user(Role.DEALER)


@pytest.fixture
def other_dealer_user(make_user):
    return make_user(Role.DEALER)


def test_token_with_wrong_password_is_a_json_error(dealer_user):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": dealer_user.username, "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_token_is_locked_after_repeated_failures(dealer_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = APIClient()
    for _ in range(3):
        client.post(
            "/api/v1/auth/token/",
            {"username": dealer_user.username, "password": "nope"},
            format="json",
        )
    # even the right password is refused while locked
    response = client.post(
        "/api/v1/auth/token/", {"username": dealer_user.username, "password": "demo"}, format="json"
    )
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"


def test_without_a_token_every_endpoint_refuses():
    client = APIClient()
    for url in ["/api/v1/dealers/", "/api/v1/dealers/change-requests/", "/api/v1/jobs/1/"]:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.json()["code"] == "not_authenticated"


def test_dealer_sees_only_its_own_dealer(dealer_user, other_dealer_user):
    client = api_as(dealer_user)
    listing = client.get("/api/v1/dealers/").json()
    assert [row["code"] for row in listing["results"]] == [dealer_user.dealer.code]
    assert client.get(f"/api/v1/dealers/{dealer_user.dealer.pk}/").status_code == 200
    response = client.get(f"/api/v1/dealers/{other_dealer_user.dealer.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert client.get(f"/api/v1/dealers/{other_dealer_user.dealer.pk}/history/").status_code == 404


def test_region_manager_sees_only_its_regions(make_user):
    north, south = RegionFactory(code="N"), RegionFactory(code="S")
    mine, theirs = DealerFactory(region=north), DealerFactory(region=south)
    client = api_as(make_user(Role.REGION_MANAGER, regions=[north]))
    assert [row["code"] for row in client.get("/api/v1/dealers/").json()["results"]] == [mine.code]
    assert client.get(f"/api/v1/dealers/{theirs.pk}/").status_code == 404


def test_full_change_request_flow_over_the_api(
    dealer_user, make_user, django_capture_on_commit_callbacks
):
    ops = make_user(Role.OPS)
    dealer_api = api_as(dealer_user)
    created = dealer_api.post(
        "/api/v1/dealers/change-requests/",
        {
            "dealer": dealer_user.dealer.pk,
            "values": {"address": "成都市高新区天府大道1号"},
            "note": "搬迁",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["status"] == "draft"
    assert (
        dealer_api.post(f"/api/v1/dealers/change-requests/{pk}/submit/").json()["status"]
        == "submitted"
    )
    # a dealer cannot decide
    assert dealer_api.post(f"/api/v1/dealers/change-requests/{pk}/approve/").status_code == 403
    ops_api = api_as(ops)
    with django_capture_on_commit_callbacks(execute=True):
        approved = ops_api.post(
            f"/api/v1/dealers/change-requests/{pk}/approve/", {"reason": "ok"}, format="json"
        )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    # the apply task ran on commit
    assert ops_api.get(f"/api/v1/dealers/change-requests/{pk}/").json()["status"] == "applied"
    dealer_user.dealer.refresh_from_db()
    assert dealer_user.dealer.address == "成都市高新区天府大道1号"
    # deciding again is a conflict, with a readable reason
    again = ops_api.post(
        f"/api/v1/dealers/change-requests/{pk}/reject/", {"reason": "late"}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["code"] == "transition_not_allowed"
    history = dealer_api.get(f"/api/v1/dealers/{dealer_user.dealer.pk}/history/").json()
    assert history[0]["action"] == "change_applied"


def test_reject_without_reason_is_a_400_with_the_field(dealer_user, make_user):
    change_request = (
        api_as(dealer_user)
        .post(
            "/api/v1/dealers/change-requests/",
            {"dealer": dealer_user.dealer.pk, "values": {"address": "x路1号"}, "submit": True},
            format="json",
        )
        .json()
    )
    response = api_as(make_user(Role.OPS)).post(
        f"/api/v1/dealers/change-requests/{change_request['id']}/reject/"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "reason" in response.json()["fields"]
    assert DealerChangeRequest.objects.get(pk=change_request["id"]).status == "submitted"


def test_dealer_cannot_file_or_act_on_another_dealers_records(dealer_user, other_dealer_user):
    other_api = api_as(other_dealer_user)
    response = other_api.post(
        "/api/v1/dealers/change-requests/",
        {"dealer": dealer_user.dealer.pk, "values": {"address": "y"}},
        format="json",
    )
    assert response.status_code == 404
    mine = (
        api_as(dealer_user)
        .post(
            "/api/v1/dealers/change-requests/",
            {"dealer": dealer_user.dealer.pk, "values": {"address": "z路2号"}},
            format="json",
        )
        .json()
    )
    assert other_api.get(f"/api/v1/dealers/change-requests/{mine['id']}/").status_code == 404
    assert (
        other_api.post(f"/api/v1/dealers/change-requests/{mine['id']}/submit/").status_code == 404
    )
    assert DealerChangeRequest.objects.get(pk=mine["id"]).status == "draft"
    assert other_api.get("/api/v1/dealers/change-requests/").json()["count"] == 0


def test_invalid_values_come_back_per_field(dealer_user):
    response = api_as(dealer_user).post(
        "/api/v1/dealers/change-requests/",
        {"dealer": dealer_user.dealer.pk, "values": {"credit_code": "123"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "credit_code" in response.json()["fields"]


def test_import_over_the_api_rejects_a_non_excel_file(make_user):
    client = api_as(make_user(Role.OPS_LEAD))
    response = client.post(
        "/api/v1/dealers/import/", {"file": io.BytesIO(b"code,name\n")}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid", "invalid_file"}


def test_import_over_the_api_runs_a_job(make_user, django_capture_on_commit_callbacks):
    RegionFactory(code="N")
    book = openpyxl.Workbook()
    book.active.title = "Dealers"
    book.active.append(
        ["Dealer code", "Chinese name", "Region", "Legal entity", "Unified social credit code"]
    )
    book.active.append(["API1", "接口测试", "N", "接口测试公司", "91110108551385082Q"])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    data.name = "dealers.xlsx"
    client = api_as(make_user(Role.OPS_LEAD))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/dealers/import/", {"file": data}, format="multipart")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    job = client.get(f"/api/v1/jobs/{response.json()['id']}/").json()
    assert (job["status"], job["percent"], job["is_finished"]) == ("succeeded", 100, True)
    assert job["summary"] == {"created": 1, "updated": 0, "contacts": 0}


def test_ops_cannot_import(make_user):
    response = api_as(make_user(Role.OPS)).post("/api/v1/dealers/import/", {}, format="multipart")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_openapi_schema_is_served(make_user):
    client = api_as(make_user(Role.OPS))
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/dealers/change-requests/{id}/approve/" in response.content


def test_openapi_schema_is_valid_without_warnings(tmp_path):
    from django.core.management import call_command

    # drf-spectacular exits non-zero on any warning (an undocumented field, a guessed type).
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi:")


def test_audit_entry_records_api_actor(dealer_user):
    api_as(dealer_user).post(
        "/api/v1/dealers/change-requests/",
        {"dealer": dealer_user.dealer.pk, "values": {"address": "q路3号"}},
        format="json",
    )
    change_request = DealerChangeRequest.objects.get()
    assert audit_events_for(change_request).get().actor == dealer_user


def test_a_token_user_reads_the_api_in_the_language_saved_on_the_account(make_user):
    user = make_user(Role.OPS, language="en")
    client = api_as(user)
    english = client.get("/api/v1/dealers/?sort=nonsense").json()["fields"]["sort"][0]
    assert english.startswith("Sort by one of:")
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    chinese = client.get("/api/v1/dealers/?sort=nonsense").json()["fields"]["sort"][0]
    assert chinese.startswith("请按以下之一排序")
    # an explicit Accept-Language still wins
    asked = client.get("/api/v1/dealers/?sort=nonsense", HTTP_ACCEPT_LANGUAGE="en")
    assert asked.json()["fields"]["sort"][0].startswith("Sort by one of:")
