import pytest

from dealers.models import Dealer, DealerChangeRequest
from ssa_ops.roles import Role
from tests.dealers.factories import DealerContactFactory
from tests.e2e.conftest import sign_in, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dealer_files_a_change_ops_approves_and_the_dealer_sees_it_applied(page, make_user):
    # given a dealer user and an ops user
    dealer_user = make_user(Role.DEALER, username="dealer_e2e", language="en")
    make_user(Role.OPS, username="ops_e2e", language="en")
    dealer = dealer_user.dealer
    DealerContactFactory(dealer=dealer, is_primary=True, name="王经理")

    # when the dealer files a change request for a new address and a new contact
    sign_in(page, "dealer_e2e")
    page.click("text=My dealer")
    page.click("#request-change")
    page.fill("#id_address", "上海市闵行区虹桥路500号")
    page.fill("#id_note", "Showroom moved")
    page.fill("#id_contacts-1-name", "赵财务")
    page.fill("#id_contacts-1-phone", "13811112222")
    page.select_option("#id_contacts-1-role", "finance")
    page.click("button[name=submit]")
    page.wait_for_selector("#cr-status")
    assert page.inner_text("#cr-status") == "Submitted"
    number = page.inner_text("h1").split(" ")[0]
    sign_out(page)

    # and ops approves it from the queue
    sign_in(page, "ops_e2e")
    page.click("text=Change queue")
    page.click(f"text={number}")
    # the buttons are the transitions ops may take now, and approving asks first
    assert page.locator("form.workflow-action button").all_inner_texts() == [
        "Approve and apply",
        "Reject",
    ]
    page.fill("#reason-approve", "Matches the new licence")
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.click("#approve-button")
    page.wait_for_selector(".messages .success")
    assert dialogs == ["Approve this request? The dealer's data changes now."]
    assert page.inner_text("#cr-status") == "Applied"
    assert f"{number} is now Applied." in page.inner_text(".messages")
    assert page.locator("form.workflow-action").count() == 0
    sign_out(page)

    # then the dealer sees the new address, the new contact and the history
    sign_in(page, "dealer_e2e")
    page.click("text=My dealer")
    assert page.inner_text("[data-field=address]") == "上海市闵行区虹桥路500号"
    assert "赵财务" in page.inner_text("#contacts")
    timeline = page.inner_text("#timeline")
    assert "change applied" in timeline and "added: 赵财务" in timeline
    dealer.refresh_from_db()
    assert dealer.address == "上海市闵行区虹桥路500号"
    assert DealerChangeRequest.objects.get().status == DealerChangeRequest.Status.APPLIED


def test_a_job_page_shows_progress_and_the_result(page, make_user):
    make_user(Role.OPS_LEAD, username="lead_e2e", language="en")
    for _ in range(3):
        DealerContactFactory(is_primary=True)
    sign_in(page, "lead_e2e")
    page.click("text=Dealers")
    page.click("text=Export this list to Excel")
    page.wait_for_selector("#job-download")
    assert page.inner_text("#job-status") == "Succeeded"
    assert page.inner_text(".progress .fill") == "100%"
    with page.expect_download() as download:
        page.click("#job-download")
    assert download.value.suggested_filename.endswith(".xlsx")
    assert Dealer.objects.count() == 3


def test_language_switch_changes_the_interface(page, make_user):
    make_user(Role.OPS, username="ops_lang")
    sign_in(page, "ops_lang")
    page.select_option("#language-form select", "zh-hans")
    page.wait_for_selector("text=退出")
    assert "经销商" in page.inner_text("nav.sidebar")
