"""The HTML pages: queues with filters and sorting, detail pages with actions and timelines,
scoping for dealers and vendors, and a query count that does not grow with the page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programs import services
from programs.models import CorporateAccount, SpecialApplication, VehicleModel
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory
from tests.programs.conftest import latest_token
from tests.programs.factories import (
    account_values,
    png_upload,
    program_with_rule,
    resident_id,
    vip_application,
)
from tests.ssa_ops.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def _fill(count, ops, program, employee_program):
    for _ in range(count):
        dealer_user = UserFactory(role=Role.DEALER)
        account = services.corporate_account_create(
            actor=dealer_user, dealer=dealer_user.dealer, values=account_values()
        )
        services.corporate_account_submit(actor=dealer_user, pk=account.pk)
        vip_application(ops=ops, dealer=dealer_user.dealer, program=program, submit=True)
        qualification = services.qualification_create(
            actor=dealer_user,
            program=employee_program,
            dealer=dealer_user.dealer,
            values={"customer_name": "赵", "id_number": resident_id(), "employer_name": "伙伴"},
            documents=[png_upload()],
        )
        services.qualification_submit(actor=dealer_user, pk=qualification.pk)


LIST_PAGES = [
    "/programs/",
    "/programs/accounts/",
    "/programs/accounts/?queue=1&sort=-company",
    "/programs/applications/?sort=dealer",
    "/programs/qualifications/?status=checking",
    "/",
]


def test_list_pages_read_the_same_number_of_queries_for_3_or_25_rows(client, make_user):
    lead = make_user(Role.OPS_LEAD)
    client.force_login(lead)
    program, employee = program_with_rule(), program_with_rule(type="employee")
    _fill(3, lead, program, employee)
    small = {url: _queries(client, url) for url in LIST_PAGES}
    _fill(22, lead, program, employee)
    large = {url: _queries(client, url) for url in LIST_PAGES}
    assert large == small


def test_a_dealer_sees_its_own_records_and_not_another_dealers(client, make_user):
    ops = make_user(Role.OPS)
    dealer, dealer2 = make_user(Role.DEALER), make_user(Role.DEALER)
    account = services.corporate_account_create(
        actor=dealer, dealer=dealer.dealer, values=account_values()
    )
    application = vip_application(ops=ops, dealer=dealer.dealer)
    client.force_login(dealer)
    listed = client.get("/programs/accounts/").content.decode()
    assert account.number in listed
    assert 'data-status="draft"' in listed  # counts per state beside the filters
    assert client.get(f"/programs/applications/{application.pk}/").status_code == 200
    client.force_login(dealer2)
    assert account.number not in client.get("/programs/accounts/").content.decode()
    assert client.get(f"/programs/accounts/{account.pk}/").status_code == 404
    assert client.get(f"/programs/applications/{application.pk}/").status_code == 404
    assert client.get("/programs/applications/new/").status_code == 403


def test_a_vendor_sees_its_queue_only(client, make_user):
    dealer_user = make_user(Role.DEALER)
    program = program_with_rule(type="employee")
    qualification = services.qualification_create(
        actor=dealer_user,
        program=program,
        dealer=dealer_user.dealer,
        values={"customer_name": "赵静", "id_number": resident_id(), "employer_name": "伙伴"},
        documents=[png_upload()],
    )
    services.qualification_submit(actor=dealer_user, pk=qualification.pk)
    vendor_user = UserFactory(role=Role.VENDOR, vendor=program.checking_vendor)
    client.force_login(vendor_user)
    page = client.get("/programs/qualifications/?queue=1").content.decode()
    assert qualification.number in page
    assert client.get("/programs/accounts/").status_code == 403
    detail = client.get(f"/programs/qualifications/{qualification.pk}/").content.decode()
    assert 'data-transition="check_pass"' in detail and resident_id() not in detail
    other = UserFactory(role=Role.VENDOR, vendor=program_with_rule(type="employee").checking_vendor)
    client.force_login(other)
    assert client.get(f"/programs/qualifications/{qualification.pk}/").status_code == 404


def test_ops_reset_an_account_from_its_page_with_a_coded_reason(client, make_user, reasons):
    dealer_user, ops = make_user(Role.DEALER), make_user(Role.OPS)
    account = services.corporate_account_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=account_values()
    )
    services.corporate_account_submit(actor=dealer_user, pk=account.pk)
    client.force_login(ops)
    page = client.get(f"/programs/accounts/{account.pk}/").content.decode()
    assert 'name="reasons"' in page and 'value="DOC_MISSING"' in page
    # without a reason nothing happens
    client.post(f"/programs/accounts/{account.pk}/act/reset/", {"reason": "x"})
    account.refresh_from_db()
    assert account.status == CorporateAccount.Status.SUBMITTED
    client.post(
        f"/programs/accounts/{account.pk}/act/reset/",
        {"reasons": ["DOC_MISSING", "NOT_ELIGIBLE"], "reason": "请补充"},
    )
    account.refresh_from_db()
    assert account.status == CorporateAccount.Status.RESET
    client.force_login(dealer_user)
    page = client.get(f"/programs/accounts/{account.pk}/").content.decode()
    assert 'id="reset-reasons"' in page and "请补充" in page


def test_a_dealer_registers_an_account_from_the_form(client, make_user):
    dealer_user = make_user(Role.DEALER)
    client.force_login(dealer_user)
    values = account_values()
    response = client.post(
        "/programs/accounts/new/",
        {**values, "documents": [png_upload("执照.png")], "submit": "1"},
    )
    account = CorporateAccount.objects.get()
    assert response.status_code == 302
    assert (account.status, account.credit_code) == ("submitted", values["credit_code"])
    again = client.post("/programs/accounts/new/", {**values, "submit": "1"})
    assert again.status_code == 200
    assert account.number in again.content.decode()
    assert CorporateAccount.objects.count() == 1


def test_ops_file_an_application_and_the_timeline_shows_the_decisions(client, make_user):
    ops = make_user(Role.OPS, language="en")
    program = program_with_rule()
    dealer = DealerFactory()
    client.force_login(ops)
    response = client.post(
        "/programs/applications/new/",
        {
            "program": program.pk,
            "dealer": dealer.pk,
            "vehicle_model": VehicleModel.objects.get(
                code=program.rules.get().eligible_models[0]["model"]
            ).pk,
            "applicant_name": "李明",
            "id_number": resident_id(),
            "organisation": "协会",
            "title": "会长",
            "submit": "1",
        },
    )
    application = SpecialApplication.objects.get()
    assert response.status_code == 302 and application.status == "signing"
    client.post(
        f"/links/{latest_token('kam@corp.example.com')}/",
        {"decision": "approve", "comment": "同意"},
    )
    client.post(
        f"/links/{latest_token('pr@corp.example.com')}/",
        {"decision": "reject", "comment": "不符合"},
    )
    page = client.get(f"/programs/applications/{application.pk}/").content.decode()
    assert "Kim KAM" in page and "Pat PR" in page and "不符合" in page
    timeline = page.split('id="timeline"')[1]
    for words in ("sent to the approver", "approved", "rejected", "sent for signing"):
        assert f'class="action">{words}<' in timeline


def test_ops_leads_add_a_rule_version_in_the_ui(client, make_user):
    import datetime

    from django.utils import timezone

    program = program_with_rule()
    client.force_login(make_user(Role.OPS))
    assert client.get(f"/programs/{program.pk}/rules/new/").status_code == 403
    client.force_login(make_user(Role.OPS_LEAD))
    form = client.get(f"/programs/{program.pk}/rules/new/")
    assert form.status_code == 200
    initial = form.context["form"].initial
    start = timezone.localdate() + datetime.timedelta(days=10)
    response = client.post(
        f"/programs/{program.pk}/rules/new/",
        {
            **{k: v for k, v in initial.items() if not k.startswith("documents_")},
            "pre_application_required": "",
            "qualification_required": "",
            "valid_from": start.isoformat(),
            "note": "降低支持金额",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert list(program.rules.values_list("version", flat=True)) == [2, 1]
    page = client.get(f"/programs/{program.pk}/").content.decode()
    assert page.count('class="card rule-version"') == 2


def test_ops_lead_manages_the_reason_catalog(client, make_user):
    from ssa_ops.models import Reason

    client.force_login(make_user(Role.OPS))
    assert client.get("/reasons/").status_code == 403
    client.force_login(make_user(Role.OPS_LEAD))
    response = client.post(
        "/reasons/new/",
        {
            "code": "blurry_scan",
            "label_zh": "扫描件不清晰",
            "label_en": "Scan not readable",
            "applies_to": ["programs.corporateaccount"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    reason = Reason.objects.get()
    assert (reason.code, reason.applies_to) == ("BLURRY_SCAN", ["programs.corporateaccount"])
    client.post(
        f"/reasons/{reason.pk}/",
        {
            "code": "IGNORED",
            "label_zh": "扫描件不清晰",
            "label_en": "Scan unreadable",
            "applies_to": ["programs.corporateaccount", "programs.qualification"],
        },
    )
    reason.refresh_from_db()
    assert (reason.code, reason.label_en, reason.is_active) == (
        "BLURRY_SCAN",
        "Scan unreadable",
        False,
    )
    assert "BLURRY_SCAN" in client.get("/reasons/").content.decode()


def test_id_numbers_are_encrypted_masked_and_shown_only_on_request(client, make_user):
    from django.db import connection as db

    from ssa_ops.models import PersonalDataAccess

    ops, dealer_user = make_user(Role.OPS), make_user(Role.DEALER)
    number = resident_id(sequence="321")
    application = vip_application(ops=ops, dealer=dealer_user.dealer, id_number=number)
    with db.cursor() as cursor:
        cursor.execute(
            "select id_number from programs_specialapplication where id = %s", [application.pk]
        )
        assert number not in cursor.fetchone()[0]
    client.force_login(dealer_user)
    page = client.get(f"/programs/applications/{application.pk}/").content.decode()
    assert number not in page and str(application.id_number) in page
    url = f"/programs/applications/{application.pk}/personal-data/id_number/"
    assert client.post(url).status_code == 403
    client.force_login(ops)
    shown = client.post(url, {"reason": "核对身份证"})
    assert shown.status_code in (200, 302)
    assert PersonalDataAccess.objects.filter(field="id_number", user=ops).count() == 1
    # ops find it by the full number, through the lookup hash
    listed = client.get(f"/programs/applications/?q={number}").content.decode()
    assert application.number in listed


@pytest.mark.parametrize("role", list(Role))
def test_every_programs_page_answers_every_role_without_an_error(client, make_user, role, reasons):
    ops, dealer_user = make_user(Role.OPS), make_user(Role.DEALER)
    program = program_with_rule()
    account = services.corporate_account_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=account_values()
    )
    application = vip_application(ops=ops, dealer=dealer_user.dealer, program=program, submit=True)
    employee = program_with_rule(type="employee")
    qualification = services.qualification_create(
        actor=dealer_user,
        program=employee,
        dealer=dealer_user.dealer,
        values={"customer_name": "赵", "id_number": resident_id(), "employer_name": "伙伴"},
        documents=[png_upload()],
    )
    services.qualification_submit(actor=dealer_user, pk=qualification.pk)
    user = dealer_user if role == Role.DEALER else make_user(role)
    if role == Role.VENDOR:
        user.vendor = employee.checking_vendor
        user.save()
    client.force_login(user)
    urls = [
        "/",
        "/programs/",
        f"/programs/{program.pk}/",
        f"/programs/{program.pk}/rules/new/",
        "/programs/accounts/",
        "/programs/accounts/?queue=1",
        "/programs/accounts/new/",
        f"/programs/accounts/{account.pk}/",
        f"/programs/accounts/{account.pk}/edit/",
        "/programs/applications/",
        "/programs/applications/new/",
        f"/programs/applications/{application.pk}/",
        "/programs/qualifications/",
        "/programs/qualifications/?queue=1",
        "/programs/qualifications/new/",
        f"/programs/qualifications/{qualification.pk}/",
        "/reasons/",
        "/reasons/new/",
    ]
    answers = {url: client.get(url).status_code for url in urls}
    assert set(answers.values()) <= {200, 302, 403, 404}, answers
    assert answers["/programs/accounts/"] == (
        200 if role != Role.VENDOR and role != Role.IT else 403
    )


def test_the_vendor_opens_the_proof_it_checks_and_no_other(client, make_user):
    from ssa_ops.attachments import attachments_for
    from ssa_ops.models import PersonalDataAccess

    dealer_user = make_user(Role.DEALER)
    program = program_with_rule(type="employee")
    qualification = services.qualification_create(
        actor=dealer_user,
        program=program,
        dealer=dealer_user.dealer,
        values={"customer_name": "赵静", "id_number": resident_id(), "employer_name": "伙伴"},
        documents=[png_upload("社保.png")],
    )
    services.qualification_submit(actor=dealer_user, pk=qualification.pk)
    proof = attachments_for(qualification).get()
    client.force_login(UserFactory(role=Role.VENDOR, vendor=program.checking_vendor))
    response = client.get(f"/attachments/{proof.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert PersonalDataAccess.objects.filter(field="document:employment_proof").count() == 1
    other = program_with_rule(type="employee").checking_vendor
    client.force_login(UserFactory(role=Role.VENDOR, vendor=other))
    assert client.get(f"/attachments/{proof.pk}/").status_code == 404
    client.force_login(make_user(Role.DEALER))
    assert client.get(f"/attachments/{proof.pk}/").status_code == 404


def test_ops_add_documents_to_a_draft_application(client, make_user):
    ops = make_user(Role.OPS)
    application = vip_application(ops=ops, dealer=DealerFactory())
    client.force_login(ops)
    url = f"/programs/applications/{application.pk}/documents/"
    client.post(url, {"documents": [png_upload("任职文件.png")]})
    services.application_submit(actor=ops, pk=application.pk)
    client.post(url, {"documents": [png_upload("later.png")]})
    from ssa_ops.attachments import attachments_for

    assert [a.purpose for a in attachments_for(application)] == ["application_document"]


def test_take_next_opens_the_oldest_account_waiting(client, make_user):
    ops = make_user(Role.OPS)
    accounts = []
    for _ in range(2):
        dealer_user = make_user(Role.DEALER)
        account = services.corporate_account_create(
            actor=dealer_user, dealer=dealer_user.dealer, values=account_values()
        )
        services.corporate_account_submit(actor=dealer_user, pk=account.pk)
        accounts.append(account)
    client.force_login(ops)
    response = client.get("/programs/accounts/next/")
    assert response["Location"] == f"/programs/accounts/{accounts[0].pk}/"
    CorporateAccount.objects.filter(pk=accounts[0].pk).update(status="approved")
    assert (
        client.get("/programs/accounts/next/")["Location"]
        == f"/programs/accounts/{accounts[1].pk}/"
    )
    CorporateAccount.objects.update(status="approved")
    assert client.get("/programs/accounts/next/")["Location"] == "/programs/accounts/?queue=1"
