import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from dealers import services
from dealers.models import DealerChangeRequest
from ssa_ops.audit import audit_record
from ssa_ops.models import Attachment, User
from ssa_ops.roles import Role
from tests.dealers.factories import DealerContactFactory, DealerFactory, RegionFactory

pytestmark = pytest.mark.django_db


def png_bytes():
    output = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(output, "PNG")
    return output.getvalue()


@pytest.fixture
def dealer_user(make_user):
    return make_user(Role.DEALER)


@pytest.fixture
def other_dealer_user(make_user):
    return make_user(Role.DEALER)


def login(client, user):
    client.force_login(user)
    return client


def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/dealers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_is_in_chinese_by_default_and_english_on_request(client):
    assert "登录" in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Sign in" in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_dealer_gets_404_for_another_dealers_pages(client, dealer_user, other_dealer_user):
    theirs = other_dealer_user.dealer
    change_request = services.change_request_create(
        actor=other_dealer_user, dealer=theirs, values={"address": "他们的地址"}
    )
    login(client, dealer_user)
    for url in [
        f"/dealers/{theirs.pk}/",
        f"/dealers/{theirs.pk}/export/",
        f"/dealers/{theirs.pk}/changes/new/",
        f"/dealers/changes/{change_request.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    response = client.post(f"/dealers/changes/{change_request.pk}/submit/")
    assert response.status_code == 404
    change_request.refresh_from_db()
    assert change_request.status == DealerChangeRequest.Status.DRAFT
    # the dealer list takes a dealer user straight to its own dealer
    assert client.get("/dealers/")["Location"] == f"/dealers/{dealer_user.dealer.pk}/"


def test_dealer_files_a_change_with_a_document_and_submits_it(client, dealer_user, make_user):
    make_user(Role.OPS)
    dealer = dealer_user.dealer
    contact = DealerContactFactory(dealer=dealer, is_primary=True)
    login(client, dealer_user)
    form = {
        "name_zh": dealer.name_zh,
        "name_en": dealer.name_en,
        "legal_entity": dealer.legal_entity,
        "credit_code": dealer.credit_code,
        "address": "南京市鼓楼区中山路100号",
        "group": "",
        "status": dealer.status,
        "note": "新营业执照",
        "contacts-TOTAL_FORMS": "2",
        "contacts-INITIAL_FORMS": "1",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-contact_id": contact.pk,
        "contacts-0-role": contact.role,
        "contacts-0-name": contact.name,
        "contacts-0-phone": contact.phone,
        "contacts-0-email": contact.email,
        "contacts-0-is_primary": "on",
        "contacts-1-role": "finance",
        "contacts-1-name": "钱七",
        "contacts-1-phone": "13700001111",
        "contacts-1-email": "",
        "documents": SimpleUploadedFile("营业执照.png", png_bytes(), content_type="image/png"),
        "submit": "1",
    }
    response = client.post(f"/dealers/{dealer.pk}/changes/new/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    change_request = DealerChangeRequest.objects.get()
    assert change_request.status == DealerChangeRequest.Status.SUBMITTED
    assert change_request.proposed == {"address": "南京市鼓楼区中山路100号"}
    assert [c["action"] for c in change_request.contact_changes] == ["add"]
    attachment = Attachment.objects.get()
    assert attachment.original_name == "营业执照.png" and attachment.mime_type == "image/png"
    assert not attachment.file.name.endswith("营业执照.png")  # stored under a random name
    detail = client.get(f"/dealers/changes/{change_request.pk}/").content.decode()
    assert "南京市鼓楼区中山路100号" in detail and "营业执照.png" in detail


def test_form_shows_field_errors_inline_and_saves_nothing(client, dealer_user):
    dealer = dealer_user.dealer
    login(client, dealer_user)
    form = {
        "name_zh": dealer.name_zh,
        "legal_entity": dealer.legal_entity,
        "credit_code": "91110000000000000X",
        "address": dealer.address,
        "status": dealer.status,
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-role": "finance",
        "contacts-0-name": "钱七",
        "contacts-0-phone": "12",
    }
    client.session.save()
    user = User.objects.get(pk=client.session["_auth_user_id"])
    user.language = "en"
    user.save(update_fields=["language"])
    response = client.post(f"/dealers/{dealer.pk}/changes/new/", form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "check character" in page
    assert "7 to 20 digits" in page
    assert DealerChangeRequest.objects.count() == 0


def test_ops_approves_in_the_browser_and_the_dealer_changes(
    client, dealer_user, make_user, django_capture_on_commit_callbacks
):
    ops = make_user(Role.OPS)
    change_request = services.change_request_create(
        actor=dealer_user, dealer=dealer_user.dealer, values={"address": "西安市雁塔区1号"}
    )
    services.change_request_submit(actor=dealer_user, pk=change_request.pk)
    login(client, ops)
    assert change_request.number in client.get("/dealers/changes/queue/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/dealers/changes/{change_request.pk}/act/approve/", {"reason": "ok"}, follow=True
        )
    dealer_user.dealer.refresh_from_db()
    assert dealer_user.dealer.address == "西安市雁塔区1号"
    # what happened, in the resulting state's words (the apply task runs after the response)
    assert f"{change_request.number} 现为已批准" in response.content.decode()
    page = client.get(f"/dealers/{dealer_user.dealer.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    timeline = page.content.decode().split('id="timeline"')[1]
    # The timeline speaks the reader's language: action, field label and both values.
    assert "变更已生效" in timeline
    assert "地址" in timeline and "西安市雁塔区1号" in timeline
    assert "change_applied" not in timeline
    request_page = client.get(f"/dealers/changes/{change_request.pk}/").content.decode()
    assert "已提交" in request_page and "已批准" in request_page and "已生效" in request_page


def test_attachments_download_only_for_those_who_see_the_owner(
    client, dealer_user, other_dealer_user
):
    upload = SimpleUploadedFile("licence.png", png_bytes())
    change_request = services.change_request_create(
        actor=dealer_user,
        dealer=dealer_user.dealer,
        values={"address": "附件测试1号"},
        documents=[upload],
    )
    attachment = Attachment.objects.get()
    url = f"/attachments/{attachment.pk}/"
    login(client, dealer_user)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert 'filename="licence.png"' in response["Content-Disposition"]
    login(client, other_dealer_user)
    assert client.get(url).status_code == 404
    assert change_request.pk


def test_dealer_list_filters_and_searches(client, make_user):
    north, south = RegionFactory(code="N"), RegionFactory(code="S")
    wanted = DealerFactory(region=north, name_zh="杭州特别汽车")
    DealerFactory(region=south, name_zh="广州普通汽车")
    login(client, make_user(Role.OPS))
    page = client.get("/dealers/", {"q": "特别"}).content.decode()
    assert wanted.code in page and "广州普通汽车" not in page
    page = client.get("/dealers/", {"region": south.pk}).content.decode()
    assert "广州普通汽车" in page and wanted.code not in page


def test_roles_without_the_permission_get_403(client, make_user):
    login(client, make_user(Role.VENDOR))
    assert client.get("/dealers/").status_code == 403
    login(client, make_user(Role.OPS))
    assert client.get("/dealers/import/").status_code == 403


def test_import_page_starts_a_job_and_shows_the_error_report(
    client, make_user, django_capture_on_commit_callbacks
):
    import openpyxl

    RegionFactory(code="N")
    book = openpyxl.Workbook()
    book.active.append(
        ["Dealer code", "Chinese name", "Region", "Legal entity", "Unified social credit code"]
    )
    book.active.append(["V1", "视图测试", "NOPE", "视图测试公司", "91110108551385082Q"])
    data = io.BytesIO()
    book.save(data)
    login(client, make_user(Role.OPS_LEAD, language="en"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/dealers/import/", {"file": SimpleUploadedFile("d.xlsx", data.getvalue())}
        )
    assert response.status_code == 302
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Unknown region code." in page
    assert "job-download" in page
    download = client.get(response["Location"] + "download/")
    assert download.status_code == 200


def test_import_page_refuses_a_file_that_is_not_excel(client, make_user):
    login(client, make_user(Role.OPS_LEAD, language="en"))
    response = client.post(
        "/dealers/import/",
        {"file": SimpleUploadedFile("d.xlsx", b"%PDF-1.4 fake")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "not accepted" in response.content.decode()


def test_language_switch_is_kept_for_the_user(client, dealer_user):
    login(client, dealer_user)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    dealer_user.refresh_from_db()
    assert dealer_user.language == "en"
    assert "Welcome" in client.get("/").content.decode()


def test_dealer_export_with_history(client, dealer_user):
    import openpyxl

    dealer = dealer_user.dealer
    old_address = dealer.address
    change_request = services.change_request_create(
        actor=dealer_user, dealer=dealer, values={"address": "成都市高新区8号"}
    )
    audit_record(
        actor=dealer_user,
        obj=dealer,
        action="change_applied",
        changes={"address": [old_address, "成都市高新区8号"]},
    )
    dealer_user.language = "en"
    dealer_user.save(update_fields=["language"])
    login(client, dealer_user)
    response = client.get(f"/dealers/{dealer.pk}/export/")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Profile", "Contacts", "Change requests", "History"]
    requests = list(book["Change requests"].iter_rows(min_row=2, values_only=True))
    assert requests[0][:4] == (
        change_request.number,
        "Draft",
        dealer_user.username,
        "address: 成都市高新区8号",
    )
    history = list(book["History"].iter_rows(min_row=2, values_only=True))
    assert history[0][2] == "change applied"
    assert history[0][6] == f"address: {old_address} → 成都市高新区8号"


def test_navigation_marks_exactly_the_section_of_the_page(client, make_user):
    login(client, make_user(Role.OPS))
    for url, section in [
        ("/dealers/", "/dealers/"),
        ("/dealers/changes/", "/dealers/changes/"),
        ("/dealers/changes/queue/", "/dealers/changes/queue/"),
    ]:
        page = client.get(url).content.decode()
        nav = page.split('<nav class="sidebar">')[1].split("</nav>")[0]
        assert nav.count('class="active"') == 1, url
        assert f'href="{section}" class="active"' in nav, url


def test_region_manager_dashboard_lists_open_requests_of_its_regions_only(client, make_user):
    north, south = RegionFactory(code="N"), RegionFactory(code="S")
    manager = make_user(Role.REGION_MANAGER, regions=[north], language="en")
    requests = {}
    for region in (north, south):
        filer = make_user(Role.DEALER, dealer=DealerFactory(region=region))
        change_request = services.change_request_create(
            actor=filer, dealer=filer.dealer, values={"address": f"{region.code} 新地址"}
        )
        requests[region.code] = services.change_request_submit(actor=filer, pk=change_request.pk)
    login(client, manager)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    open_changes = page.split('id="open-changes"')[1]
    assert "Open change requests" in open_changes
    assert requests["N"].number in open_changes
    assert requests["S"].number not in page
