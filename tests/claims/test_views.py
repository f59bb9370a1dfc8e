import pytest

from claims import services
from claims.models import Claim
from ssa_ops.roles import Role
from tests.claims.factories import approved_account, document

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_the_dealer_files_uploads_and_submits_through_the_pages(setting, page_client):
    client = page_client(setting.dealer_user)
    values = setting.values()
    response = client.post("/claims/new/", values)
    claim = Claim.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/claims/{claim.pk}/"
    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert "Documents missing: Invoice" in page
    assert "8000.00 CNY" in page
    client.post(f"/claims/{claim.pk}/documents/", {"purpose": "invoice", "documents": document(4)})
    response = client.post(f"/claims/{claim.pk}/act/submit/")
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED
    assert claim.vin in client.get("/claims/").content.decode()


def test_a_refused_value_is_shown_on_the_form(setting, page_client):
    client = page_client(setting.dealer_user)
    response = client.post("/claims/new/", setting.values(vin="LSVAU2181N2000001"))
    assert response.status_code == 200
    assert "The check digit of this VIN (its 9th character) is wrong." in response.content.decode()
    assert not Claim.objects.exists()


def test_ops_take_next_and_see_flags_and_buttons(setting, reasons, page_client):
    claim = setting.claim(submit=True, invoice_number="SAME")
    setting.claim(invoice_number="SAME", documents=False)
    client = page_client(setting.ops)
    queue = client.get("/claims/").content.decode()
    assert claim.number in queue and "Take next" in queue
    response = client.get("/claims/next/")
    assert response["Location"] == f"/claims/{claim.pk}/"
    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert "The same invoice number is on another claim" in page
    other = Claim.objects.exclude(pk=claim.pk).get()
    assert f'href="/claims/{other.pk}/">{other.number}</a>' in page
    assert "Approve" in page and "Reset to dealer" in page
    client.post(f"/claims/{claim.pk}/act/reject/", {"reasons": ["NOT_ELIGIBLE"]})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED


def test_another_dealers_claim_is_a_404(setting, make_user, page_client):
    claim = setting.claim(documents=False)
    other = make_user(Role.DEALER)
    approved_account(dealer_user=other, ops=setting.ops)
    client = page_client(other)
    assert client.get(f"/claims/{claim.pk}/").status_code == 404
    assert client.post(f"/claims/{claim.pk}/act/withdraw/").status_code == 404
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT


def test_preapplication_pages(setting, page_client):
    client = page_client(setting.dealer_user)
    response = client.post(
        "/claims/preapplications/new/",
        {
            "program": setting.program.pk,
            "corporate_account": setting.account.pk,
            "model_1": setting.model_code,
            "units_1": 2,
            "model_2": setting.model_code,
            "units_2": 3,
            "delivery_month": "2027-04-09",
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    from claims.models import PreApplication

    record = PreApplication.objects.get()
    assert record.lines == [{"model": setting.model_code, "units": 5}]
    edit = client.get(f"/claims/preapplications/{record.pk}/edit/").content.decode()
    assert f'value="{setting.model_code}"' in edit and 'value="5"' in edit
    page = client.get(response["Location"]).content.decode()
    assert "2027-04" in page and "Submit to ops" in page
    assert client.get("/claims/preapplications/").status_code == 200
    ops = page_client(setting.ops)
    assert ops.get("/claims/preapplications/?queue=1").status_code == 200


def test_home_shows_the_claims_panel(setting, page_client):
    setting.claim(submit=True)
    page = page_client(setting.ops).get("/").content.decode()
    assert "Claims waiting" in page
    dealer_page = page_client(setting.dealer_user).get("/").content.decode()
    assert "Claims reset to you" in dealer_page


def test_bulk_decision_from_the_queue_page(setting, reasons, page_client):
    claims = [setting.claim(submit=True) for _ in range(2)]
    client = page_client(setting.ops)
    page = client.get("/claims/").content.decode()
    assert 'name="ids"' in page and "Decide the selected claims" in page
    response = client.post(
        "/claims/bulk/",
        {"ids": [c.pk for c in claims], "decision": "reset", "reasons": ["DOC_MISSING"]},
        follow=True,
    )
    assert "2 claims decided, 0 skipped." in response.content.decode()
    assert Claim.objects.filter(status=Claim.Status.RESET).count() == 2
    # a dealer's queue has no bulk form, and may not post one
    dealer = page_client(setting.dealer_user)
    assert 'name="ids"' not in dealer.get("/claims/").content.decode()
    assert dealer.post("/claims/bulk/", {"ids": [claims[0].pk]}).status_code == 403


def test_the_queue_pages_by_cursor_and_exports_what_it_shows(setting, monkeypatch, page_client):
    import io

    import openpyxl

    from claims import selectors

    monkeypatch.setattr(selectors.keyset_page, "__kwdefaults__", {"after": None, "size": 2})
    claims = [setting.claim(submit=True) for _ in range(3)]
    setting.claim(documents=False)  # a draft: not in the queue
    client = page_client(setting.ops)
    response = client.get("/claims/")
    first = response.content.decode()
    assert claims[0].number in first and claims[2].number not in first
    next_href = response.context["next_query"]
    second = client.get(f"/claims/?{next_href}").content.decode()
    assert claims[2].number in second and claims[0].number not in second
    # a cursor typed by hand shows the first page
    assert client.get("/claims/?after=%00zz").status_code == 200
    exported = client.get("/claims/export/")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(exported.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Number", "Status", "Status code")
    assert [r[0] for r in rows[1:]] == [c.number for c in claims]
    assert rows[1][2] == "submitted"


def test_the_dealer_sees_resets_to_answer_first(setting, reasons, settings, page_client):
    settings.CLAIM_RESET_ANSWER_DAYS = 14
    claim = setting.claim(submit=True)
    from claims import services

    services.claim_pick_up(actor=setting.ops, pk=claim.pk)
    services.claim_reset(actor=setting.ops, pk=claim.pk, reasons=["DOC_MISSING"])
    claim.refresh_from_db()
    page = page_client(setting.dealer_user).get("/claims/").content.decode()
    deadline = claim.reset_answer_deadline.isoformat()
    assert "To do first" in page
    assert f"reset to you: answer by {deadline}" in page


def test_the_queue_page_queries_do_not_grow_with_the_page(setting, monkeypatch, page_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from claims import selectors

    for _ in range(6):
        setting.claim(submit=True)
    client = page_client(setting.ops)
    client.get("/claims/")
    counts = []
    for size in (2, 6):
        monkeypatch.setattr(selectors.keyset_page, "__kwdefaults__", {"after": None, "size": size})
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/claims/")
        assert len(response.context["claims"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_after_a_decision_the_next_claim_opens_when_asked(setting, page_client):
    first = setting.claim(submit=True)
    second = setting.claim(submit=True)
    services.claim_pick_up(actor=setting.ops, pk=first.pk)
    client = page_client(setting.ops)
    response = client.post(f"/claims/{first.pk}/act/approve/", {"then": "next"})
    # the next one is taken: picked up by the same user, and its page opens
    assert response.status_code == 302 and response.url == "/claims/next/"
    response = client.get(response.url)
    assert response.url == f"/claims/{second.pk}/"
    second.refresh_from_db()
    assert (second.status, second.assigned_to) == (Claim.Status.IN_REVIEW, setting.ops)
    # without asking, the record's page opens again
    response = client.post(f"/claims/{second.pk}/act/approve/")
    assert response.url == f"/claims/{second.pk}/"
