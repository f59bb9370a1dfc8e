import re

import pytest

from programs.models import SpecialApplication, VehicleModel
from ssa_ops.roles import Role
from tests.e2e.conftest import sign_in, sign_out
from tests.programs.factories import another_resident_id, program_with_rule

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _link_from_email(mailoutbox, address) -> str:
    """The decision link in the latest email to `address`, as the approver would click it."""
    message = [m for m in mailoutbox if address in m.to][-1]
    return re.search(r"https?://\S+/links/\S+/", message.body).group(0)


def _file_vip_application(page, *, program, dealer, model, applicant):
    page.click("text=Applications")
    page.click("#application-new")
    page.select_option("#id_program", str(program.pk))
    page.select_option("#id_dealer", str(dealer.pk))
    page.select_option("#id_vehicle_model", str(model.pk))
    page.fill("#id_applicant_name", applicant)
    page.fill("#id_id_number", another_resident_id())
    page.fill("#id_organisation", "上海汽车工业协会")
    page.fill("#id_title", "副会长")
    page.click("#application-submit")
    page.wait_for_selector("#application-status")
    assert page.inner_text("#application-status") == "Being signed"
    return page.inner_text("h1").split(" ")[0]


def _decide(page, live_url, link, decision, comment=""):
    page.goto(link.replace(link.split("/links/")[0], live_url))
    page.wait_for_selector("#link-decision")
    if comment:
        page.fill("#link-comment", comment)
    page.click(f"#link-{decision}")
    page.wait_for_selector("#link-done")


def test_vip_application_signed_by_each_approver_from_the_email(page, make_user, mailoutbox):
    # given a VIP program whose rules name a KAM then PR, an ops user and the dealer
    make_user(Role.OPS, username="ops_e2e", language="en")
    dealer_user = make_user(Role.DEALER, username="dealer_e2e", language="en")
    program = program_with_rule()
    model = VehicleModel.objects.get(code=program.rules.get().eligible_models[0]["model"])

    # when ops file a VIP application and send it for signing
    sign_in(page, "ops_e2e")
    number = _file_vip_application(
        page, program=program, dealer=dealer_user.dealer, model=model, applicant="陈思"
    )
    sign_out(page)

    # and each approver in turn opens the link from the email and approves
    for address in ("kam@corp.example.com", "pr@corp.example.com"):
        link = _link_from_email(mailoutbox, address)
        page.goto(link.replace(link.split("/links/")[0], page.base_url))
        assert "陈思" in page.inner_text("#link-record")
        page.click("#link-approve")
        page.wait_for_selector("#link-done")
        # the used link now says so and changes nothing
        page.goto(link.replace(link.split("/links/")[0], page.base_url))
        assert page.get_attribute("#link-refused", "data-problem") == "used"

    # then the dealer sees the SSA number
    application = SpecialApplication.objects.get()
    assert application.status == "approved"
    sign_in(page, "dealer_e2e")
    page.click("text=Applications")
    assert page.inner_text("td.ssa-number") == application.ssa_number
    page.click(f"text={number}")
    assert page.inner_text("#ssa-number") == application.ssa_number

    # when a second application is rejected at its second step with a comment
    sign_out(page)
    sign_in(page, "ops_e2e")
    second = _file_vip_application(
        page, program=program, dealer=dealer_user.dealer, model=model, applicant="周宁"
    )
    sign_out(page)
    _decide(page, page.base_url, _link_from_email(mailoutbox, "kam@corp.example.com"), "approve")
    _decide(
        page,
        page.base_url,
        _link_from_email(mailoutbox, "pr@corp.example.com"),
        "reject",
        comment="Not covered by the media policy",
    )

    # then the timeline shows both decisions
    sign_in(page, "ops_e2e")
    page.click("text=Applications")
    page.click(f"text={second}")
    assert page.inner_text("#application-status") == "Rejected"
    timeline = page.inner_text("#timeline")
    assert "Kim KAM" in timeline and "Pat PR" in timeline
    assert "Not covered by the media policy" in timeline
