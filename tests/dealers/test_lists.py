"""Lists as a new user meets them: sortable, filterable, exported as shown, named in words, and
with a query count that does not grow with the page."""

import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dealers import services
from dealers.models import Dealer, DealerChangeRequest
from ssa_ops.jobs import job_start
from ssa_ops.models import BackgroundJob
from ssa_ops.notifications import email_queue
from ssa_ops.roles import Role
from tests.dealers.factories import DealerContactFactory, DealerFactory, RegionFactory

pytestmark = pytest.mark.django_db


def _reset(user) -> dict:
    return {"user": user, "uid": "MQ", "token": "set-password", "protocol": "https"}


def _rows(page: str) -> int:
    return page.split('class="change-table"')[1].count('href="/dealers/changes/')


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def _change_requests(count, *, submitted=True):
    filer_dealers = [DealerFactory() for _ in range(count)]
    from tests.ssa_ops.factories import UserFactory

    for dealer in filer_dealers:
        filer = UserFactory(role=Role.DEALER, dealer=dealer)
        change_request = services.change_request_create(
            actor=filer, dealer=dealer, values={"address": f"{dealer.code} 新地址"}
        )
        if submitted:
            services.change_request_submit(actor=filer, pk=change_request.pk)


LIST_PAGES = [
    "/dealers/",
    "/dealers/?sort=-region",
    "/dealers/contacts/",
    "/dealers/changes/",
    "/dealers/changes/queue/?sort=dealer",
    "/outbox/",
    "/jobs/",
    "/",
]


def _fill(count, lead):
    for _ in range(count):
        DealerContactFactory(dealer=DealerFactory(), is_primary=True)
    _change_requests(count)
    for index in range(count):
        email_queue(to=f"x{index}@example.com", template="password_reset", context=_reset(lead))
        BackgroundJob.objects.create(kind="dealer_export", created_by=lead)


def test_every_list_page_reads_the_same_number_of_queries_for_3_or_25_rows(client, make_user):
    lead = make_user(Role.OPS_LEAD)
    client.force_login(lead)
    _fill(3, lead)
    small = {url: _queries(client, url) for url in LIST_PAGES}
    _fill(22, lead)
    large = {url: _queries(client, url) for url in LIST_PAGES}
    assert large == small


LIST_APIS = [
    "/api/v1/dealers/?page_size={n}",
    "/api/v1/dealers/?sort=-name",
    "/api/v1/dealers/change-requests/",
    "/api/v1/dealers/change-requests/?queue=1&sort=-submitted",
]


def test_every_list_api_reads_the_same_number_of_queries_for_3_or_25_rows(make_user):
    lead = make_user(Role.OPS_LEAD)
    client = APIClient()
    client.force_authenticate(lead)
    _fill(3, lead)
    client.get("/api/v1/dealers/")  # the user's permissions are read once and kept
    small = {url: _queries(client, url.format(n=3)) for url in LIST_APIS}
    _fill(22, lead)
    large = {url: _queries(client, url.format(n=25)) for url in LIST_APIS}
    assert large == small


def test_a_column_header_sorts_the_list_and_again_the_other_way(client, make_user):
    for code in ("D3", "D1", "D2"):
        DealerFactory(code=code)
    client.force_login(make_user(Role.OPS))
    ascending = client.get("/dealers/?sort=code").content.decode()
    assert ascending.index(">D1<") < ascending.index(">D2<") < ascending.index(">D3<")
    # the header now offers the reverse order and keeps the filters
    assert (
        'href="?status=active&amp;sort=-code"'
        in client.get("/dealers/?status=active&sort=code").content.decode()
    )
    descending = client.get("/dealers/?sort=-code").content.decode()
    assert descending.index(">D3<") < descending.index(">D2<") < descending.index(">D1<")


def test_the_api_sorts_by_sort_and_refuses_an_unknown_key(make_user):
    for code in ("A2", "A1", "A3"):
        DealerFactory(code=code)
    client = APIClient()
    client.force_authenticate(make_user(Role.OPS))
    codes = [row["code"] for row in client.get("/api/v1/dealers/?sort=-code").json()["results"]]
    assert codes == ["A3", "A2", "A1"]
    refused = client.get("/api/v1/dealers/?sort=password")
    assert refused.status_code == 400 and "sort" in refused.json()["fields"]


def test_the_list_shows_region_names_and_calls_the_dealer_name_a_name(client, make_user):
    DealerFactory(region=RegionFactory(code="EAST9", name_zh="华东九区", name_en="East 9"))
    client.force_login(make_user(Role.OPS))
    page = client.get("/dealers/").content.decode()
    table = page.split('id="dealer-table"')[1]
    assert "华东九区" in table and ">EAST9<" not in table
    assert "名称" in table.split("</thead>")[0] and "姓名" not in table.split("</thead>")[0]


def test_the_export_writes_what_the_filtered_list_shows(
    client, make_user, django_capture_on_commit_callbacks
):
    # given 3 active and 2 suspended dealers
    for _ in range(3):
        DealerFactory()
    for _ in range(2):
        DealerFactory(status=Dealer.Status.SUSPENDED)
    lead = make_user(Role.OPS_LEAD)
    client.force_login(lead)
    listed = client.get("/dealers/?status=suspended&sort=-code").content.decode()
    assert listed.count('<td class="mono"><a href="/dealers/') == 2
    # when the export button of that list is pressed (it carries the list's filters)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/dealers/export/", {"status": "suspended", "sort": "-code"})
    job = BackgroundJob.objects.get(kind="dealer_export")
    # then the workbook holds those 2 dealers, in that order, with region code and name
    book = openpyxl.load_workbook(io.BytesIO(job.result_file.read()))
    rows = list(book["Dealers"].iter_rows(min_row=2, values_only=True))
    suspended = Dealer.objects.filter(status="suspended").order_by("-code")
    assert [row[0] for row in rows] == [d.code for d in suspended]
    assert [(row[3], row[9]) for row in rows] == [
        (d.region.code, d.region.name_zh) for d in suspended
    ]


def test_the_queue_finds_a_request_by_number_or_dealer_and_filters_by_state(client, make_user):
    _change_requests(3)
    wanted = DealerChangeRequest.objects.order_by("pk")[1]
    client.force_login(make_user(Role.OPS))
    by_number = client.get(f"/dealers/changes/queue/?q={wanted.number}").content.decode()
    assert _rows(by_number) == 1 and wanted.number in by_number
    by_name = client.get(f"/dealers/changes/?q={wanted.dealer.name_zh}").content.decode()
    assert _rows(by_name) == 1
    assert _rows(client.get("/dealers/changes/?status=submitted").content.decode()) == 3
    assert _rows(client.get("/dealers/changes/?status=draft").content.decode()) == 0


def test_the_outbox_finds_emails_by_recipient_and_kind(client, make_user):
    lead = make_user(Role.OPS_LEAD, language="en")
    email_queue(to="finance@dealer.example.com", template="password_reset", context=_reset(lead))
    email_queue(to="other@dealer.example.com", template="password_reset", context=_reset(lead))
    client.force_login(lead)
    page = client.get("/outbox/?q=finance@").content.decode()
    table = page.split('id="outbox"')[1]
    assert "finance@dealer.example.com" in table and "other@dealer.example.com" not in table
    assert "Password reset" in table  # the kind of email, in the reader's words
    assert "other@" not in client.get("/outbox/?template=change_request_status").content.decode()


def test_chinese_names_read_family_name_first_without_a_space(make_user):
    chinese = make_user(Role.OPS, first_name="晓", last_name="陈")
    english = make_user(Role.OPS, first_name="Ada", last_name="Lovelace")
    assert chinese.get_full_name() == "陈晓"
    assert english.get_full_name() == "Ada Lovelace"


def test_the_reset_page_button_says_what_it_does(client):
    page = client.get("/accounts/password/reset/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "发送重置链接" in page.content.decode() and ">保存<" not in page.content.decode()


def test_a_job_result_url_downloads_with_the_same_token(
    make_user, django_capture_on_commit_callbacks
):
    lead = make_user(Role.OPS_LEAD)
    DealerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="dealer_export", actor=lead)
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/", {"username": lead.username, "password": "demo"}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    result_url = client.get(f"/api/v1/jobs/{job.pk}/").json()["result_url"]
    download = client.get(result_url)
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert book["Dealers"].max_row == 2
    other = APIClient()
    other.force_authenticate(make_user(Role.OPS))
    assert other.get(result_url).status_code == 404
