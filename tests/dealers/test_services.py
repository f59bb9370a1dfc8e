import random

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import translation

from dealers import services
from dealers.credit_code import credit_code_generate
from dealers.models import Dealer, DealerChangeRequest, DealerContact
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import ApplicationError, TransitionNotAllowed
from ssa_ops.models import OutboundEmail
from ssa_ops.roles import Role
from tests.dealers.factories import DealerContactFactory, DealerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def dealer_user(make_user):
    return make_user(Role.DEALER)


@pytest.fixture
def ops(make_user):
    return make_user(Role.OPS, username="ops1")


@pytest.fixture
def lead(make_user):
    return make_user(Role.OPS_LEAD, username="lead1")


def file_request(user, dealer, values=None, contact_changes=(), submit=True, **kwargs):
    change_request = services.change_request_create(
        actor=user, dealer=dealer, values=values or {}, contact_changes=contact_changes, **kwargs
    )
    if submit:
        services.change_request_submit(actor=user, pk=change_request.pk)
    change_request.refresh_from_db()
    return change_request


def test_create_keeps_only_the_values_that_change(dealer_user):
    # given a dealer
    dealer = dealer_user.dealer
    # when the dealer files a request with its full profile but a new address
    change_request = services.change_request_create(
        actor=dealer_user,
        dealer=dealer,
        values={"name_zh": dealer.name_zh, "address": "杭州市西湖区99号", "status": dealer.status},
    )
    # then only the address is proposed, as a draft, with an audit entry
    assert change_request.status == DealerChangeRequest.Status.DRAFT
    assert change_request.proposed == {"address": "杭州市西湖区99号"}
    [event] = audit_events_for(change_request)
    assert event.action == "create"
    old_address = dealer.address
    assert event.changes == {"address": [old_address, "杭州市西湖区99号"]}
    assert event.change_rows == [
        {"label": "address", "old": old_address, "new": "杭州市西湖区99号", "pair": True}
    ]


def test_a_request_that_changes_nothing_is_refused(dealer_user):
    dealer = dealer_user.dealer
    with pytest.raises(ApplicationError) as error:
        services.change_request_create(
            actor=dealer_user, dealer=dealer, values={"address": dealer.address}
        )
    assert error.value.code == "no_changes"
    assert DealerChangeRequest.objects.count() == 0


def test_invalid_values_are_reported_per_field_and_nothing_is_saved(dealer_user):
    dealer = dealer_user.dealer
    with pytest.raises(ValidationError) as error:
        services.change_request_create(
            actor=dealer_user,
            dealer=dealer,
            values={"credit_code": "91330100MA2XXXXX0X", "name_zh": ""},
            contact_changes=[
                {"action": "add", "values": {"role": "finance", "name": "王芳", "phone": "12"}}
            ],
        )
    assert set(error.value.message_dict) == {"credit_code", "name_zh", "contacts.0.phone"}
    assert DealerChangeRequest.objects.count() == 0


def test_submit_notifies_the_deciders_by_email(
    dealer_user, ops, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        change_request = file_request(dealer_user, dealer_user.dealer, {"address": "新地址1号"})
    assert change_request.status == DealerChangeRequest.Status.SUBMITTED
    assert change_request.submitted_at is not None
    assert sorted(m.to[0] for m in mail.outbox) == sorted([ops.email, lead.email])
    assert (
        OutboundEmail.objects.filter(template="change_request_submitted", status="sent").count()
        == 2
    )


def test_approval_applies_the_change_and_logs_old_and_new_values(
    dealer_user, ops, django_capture_on_commit_callbacks
):
    dealer = dealer_user.dealer
    old_address = dealer.address
    change_request = file_request(dealer_user, dealer, {"address": "深圳市南山区科技园8号"})
    # when ops approves (the apply task runs on commit)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_approve(actor=ops, pk=change_request.pk, reason="执照一致")
    # then the dealer has the new address and the request is applied
    change_request.refresh_from_db()
    dealer.refresh_from_db()
    assert change_request.status == DealerChangeRequest.Status.APPLIED
    assert change_request.decided_by == ops
    assert change_request.decision_reason == "执照一致"
    assert dealer.address == "深圳市南山区科技园8号"
    dealer_event = audit_events_for(dealer).get(action="change_applied")
    assert dealer_event.changes == {"address": [old_address, "深圳市南山区科技园8号"]}
    assert dealer_event.actor == ops
    assert [
        (e.action, e.from_state, e.to_state)
        for e in audit_events_for(change_request).order_by("pk")
    ] == [
        ("create", "", "draft"),
        ("submit", "draft", "submitted"),
        ("approve", "submitted", "approved"),
        ("apply", "approved", "applied"),
    ]
    # and the filer heard once, when the change was applied: one email per decision
    to_filer = [m for m in mail.outbox if dealer_user.email in m.to]
    assert len(to_filer) == 1 and change_request.number in to_filer[0].subject
    # and the request keeps the address from before, so the difference stays readable
    assert [(row["current"], row["proposed"]) for row in change_request.proposed_rows] == [
        (old_address, "深圳市南山区科技园8号")
    ]


def test_status_change_goes_through_the_dealer_transition(
    dealer_user, ops, django_capture_on_commit_callbacks
):
    dealer = dealer_user.dealer
    change_request = file_request(dealer_user, dealer, {"status": Dealer.Status.SUSPENDED})
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_approve(actor=ops, pk=change_request.pk)
    dealer.refresh_from_db()
    assert dealer.status == Dealer.Status.SUSPENDED
    event = audit_events_for(dealer).get(action="suspend")
    assert (event.from_state, event.to_state, event.reason) == (
        "active",
        "suspended",
        change_request.number,
    )


def test_a_terminated_dealer_cannot_be_proposed_active_again(
    dealer_user, ops, django_capture_on_commit_callbacks
):
    dealer = dealer_user.dealer
    change_request = file_request(dealer_user, dealer, {"status": Dealer.Status.TERMINATED})
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_approve(actor=ops, pk=change_request.pk)
    dealer.refresh_from_db()
    requests_before = DealerChangeRequest.objects.count()
    with pytest.raises(ApplicationError) as error:
        services.change_request_create(
            actor=ops, dealer=dealer, values={"status": Dealer.Status.ACTIVE}
        )
    assert error.value.code == "dealer_terminated"
    assert DealerChangeRequest.objects.count() == requests_before


def test_contact_changes_add_update_and_remove(
    dealer_user, ops, django_capture_on_commit_callbacks
):
    dealer = dealer_user.dealer
    keep = DealerContactFactory(dealer=dealer, name="张伟", is_primary=True)
    gone = DealerContactFactory(dealer=dealer, name="李娜", role=DealerContact.Role.FINANCE)
    change_request = file_request(
        dealer_user,
        dealer,
        contact_changes=[
            {
                "action": "update",
                "contact_id": keep.pk,
                "values": {
                    "role": keep.role,
                    "name": "张伟",
                    "phone": "021-66668888",
                    "email": keep.email,
                    "is_primary": False,
                },
            },
            {"action": "remove", "contact_id": gone.pk},
            {
                "action": "add",
                "values": {
                    "role": "finance",
                    "name": "赵敏",
                    "phone": "13800001234",
                    "email": "zm@dealer.example.com",
                    "is_primary": True,
                },
            },
        ],
    )
    removal = next(c for c in change_request.contact_changes if c["action"] == "remove")
    assert removal["name"] == "李娜"  # named, so the request still reads well once it is gone
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_approve(actor=ops, pk=change_request.pk)
    contacts = {c.name: c for c in dealer.contacts.all()}
    assert set(contacts) == {"张伟", "赵敏"}
    assert contacts["张伟"].phone == "021-66668888" and not contacts["张伟"].is_primary
    assert contacts["赵敏"].is_primary
    [event] = audit_events_for(dealer).filter(action="contacts_changed")
    # the timeline names who was removed, changed and added, with field names in words
    [row] = event.change_rows
    assert row["label"] == "dealer contacts"
    assert f"removed: {gone.name}" in row["new"]
    assert "updated: 张伟; phone: " in row["new"] and "→ 021-66668888" in row["new"]
    assert "added: 赵敏; role: Finance" in row["new"]
    with translation.override("zh-hans"):
        chinese = event.change_rows[0]["new"]
    assert "删除: 李娜" in chinese and "更新: 张伟" in chinese and "新增: 赵敏" in chinese


def test_two_primary_contacts_are_refused(dealer_user):
    dealer = dealer_user.dealer
    DealerContactFactory(dealer=dealer, is_primary=True)
    with pytest.raises(ValidationError) as error:
        services.change_request_create(
            actor=dealer_user,
            dealer=dealer,
            values={},
            contact_changes=[
                {
                    "action": "add",
                    "values": {
                        "role": "finance",
                        "name": "赵敏",
                        "phone": "13800001234",
                        "is_primary": True,
                    },
                },
            ],
        )
    assert "contacts" in error.value.message_dict


def test_reject_needs_a_reason_and_changes_nothing_without_one(dealer_user, ops):
    change_request = file_request(dealer_user, dealer_user.dealer, {"address": "新地址2号"})
    with pytest.raises(ValidationError):
        services.change_request_reject(actor=ops, pk=change_request.pk, reason="  ")
    change_request.refresh_from_db()
    assert change_request.status == DealerChangeRequest.Status.SUBMITTED
    assert not audit_events_for(change_request).filter(action="reject").exists()
    services.change_request_reject(actor=ops, pk=change_request.pk, reason="缺少营业执照")
    change_request.refresh_from_db()
    assert (change_request.status, change_request.decision_reason) == ("rejected", "缺少营业执照")
    assert audit_events_for(change_request).get(action="reject").reason == "缺少营业执照"


def test_a_decided_request_cannot_be_decided_again(
    dealer_user, ops, lead, django_capture_on_commit_callbacks
):
    change_request = file_request(dealer_user, dealer_user.dealer, {"address": "新地址3号"})
    services.change_request_reject(actor=ops, pk=change_request.pk, reason="不符合")
    with pytest.raises(TransitionNotAllowed) as error:
        services.change_request_approve(actor=lead, pk=change_request.pk)
    assert error.value.status_code == 409
    assert "Rejected" in error.value.message
    change_request.refresh_from_db()
    assert change_request.status == DealerChangeRequest.Status.REJECTED
    assert change_request.decided_by == ops


def test_nobody_decides_their_own_request(ops):
    dealer = DealerFactory()
    change_request = file_request(ops, dealer, {"address": "新地址4号"})
    with pytest.raises(ApplicationError) as error:
        services.change_request_approve(actor=ops, pk=change_request.pk)
    assert error.value.code == "own_request"
    change_request.refresh_from_db()
    assert change_request.status == DealerChangeRequest.Status.SUBMITTED


def test_an_approved_request_that_no_longer_fits_stays_approved_with_the_reason(
    dealer_user, ops, lead, django_capture_on_commit_callbacks
):
    # given a suspension approved whose apply step has not run yet, and a termination applied
    dealer = dealer_user.dealer
    first = file_request(dealer_user, dealer, {"status": Dealer.Status.SUSPENDED})
    second = file_request(ops, dealer, {"status": Dealer.Status.TERMINATED})
    services.change_request_approve(actor=ops, pk=first.pk)  # its task has not run
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_approve(actor=lead, pk=second.pk)
    # when the suspension's apply step runs
    services.change_request_apply_approved(approved_by=ops, pk=first.pk)
    # then the suspension stays approved, not applied, with the reason shown
    first.refresh_from_db()
    assert first.status == DealerChangeRequest.Status.APPROVED
    with translation.override("en"):
        assert first.apply_error_display == (
            "The dealer is terminated: its data can no longer change."
        )
    assert audit_events_for(first).filter(action="apply_failed").exists()
    dealer.refresh_from_db()
    assert dealer.status == Dealer.Status.TERMINATED
    # and ops have a way out: cancel it with a reason, and the filer hears once
    mail.outbox.clear()
    with pytest.raises(ValidationError):
        services.change_request_cancel(actor=ops, pk=first.pk, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_cancel(actor=ops, pk=first.pk, reason="已终止，无需暂停")
    first.refresh_from_db()
    assert first.status == DealerChangeRequest.Status.CANCELLED
    assert first.decision_reason == "已终止，无需暂停"
    assert [m.to for m in mail.outbox] == [[dealer_user.email]]
    assert audit_events_for(first).first().action == "cancel"


def test_an_approved_request_that_failed_applies_once_the_cause_is_gone(
    dealer_user, ops, lead, django_capture_on_commit_callbacks
):
    # given an approved credit-code change that could not apply: another dealer had the code
    dealer = dealer_user.dealer
    other = DealerFactory()
    wanted = other.credit_code
    Dealer.objects.filter(pk=other.pk).update(credit_code=credit_code_generate(random.Random(3)))
    change_request = file_request(dealer_user, dealer, {"credit_code": wanted})
    Dealer.objects.filter(pk=other.pk).update(credit_code=wanted)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_approve(actor=ops, pk=change_request.pk)
    change_request.refresh_from_db()
    assert change_request.status == DealerChangeRequest.Status.APPROVED
    assert change_request.apply_error
    # when the other dealer's code is corrected and ops apply again
    Dealer.objects.filter(pk=other.pk).update(credit_code=credit_code_generate(random.Random(4)))
    services.change_request_apply(actor=lead, pk=change_request.pk)
    # then it is applied and the error is gone
    change_request.refresh_from_db()
    dealer.refresh_from_db()
    assert change_request.status == DealerChangeRequest.Status.APPLIED
    assert change_request.apply_error == []
    assert dealer.credit_code == wanted


def test_apply_twice_does_no_harm(dealer_user, ops, django_capture_on_commit_callbacks):
    change_request = file_request(dealer_user, dealer_user.dealer, {"address": "新地址5号"})
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_approve(actor=ops, pk=change_request.pk)
    events_before = audit_events_for(dealer_user.dealer).count()
    # the apply step run again does nothing; ops pressing "apply again" are told it is done
    services.change_request_apply_approved(approved_by=ops, pk=change_request.pk)
    with pytest.raises(TransitionNotAllowed):
        services.change_request_apply(actor=ops, pk=change_request.pk)
    assert audit_events_for(dealer_user.dealer).count() == events_before


def test_draft_cannot_be_applied(dealer_user, ops):
    change_request = file_request(
        dealer_user, dealer_user.dealer, {"address": "新地址6号"}, submit=False
    )
    with pytest.raises(TransitionNotAllowed):
        services.change_request_apply(actor=ops, pk=change_request.pk)
    dealer_user.dealer.refresh_from_db()
    assert dealer_user.dealer.address != "新地址6号"


def test_a_pending_request_cannot_change_a_dealer_terminated_meanwhile(
    dealer_user, ops, lead, django_capture_on_commit_callbacks
):
    # given an address change waiting for ops, and a termination approved before it
    dealer = dealer_user.dealer
    address = file_request(dealer_user, dealer, {"address": "终止后不应生效的地址"})
    termination = file_request(dealer_user, dealer, {"status": Dealer.Status.TERMINATED})
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_approve(actor=lead, pk=termination.pk)
    # when ops try to approve the address change
    with pytest.raises(TransitionNotAllowed) as refused:
        services.change_request_approve(actor=ops, pk=address.pk)
    # then it is refused with the reason, and the dealer's address is untouched
    assert refused.value.code == "dealer_terminated"
    dealer.refresh_from_db()
    assert dealer.address != "终止后不应生效的地址"
    address.refresh_from_db()
    assert address.status == DealerChangeRequest.Status.SUBMITTED


def test_an_approval_whose_dealer_is_terminated_before_it_applies_says_why_in_each_language(
    dealer_user, ops, lead, django_capture_on_commit_callbacks
):
    # given an address change approved while its apply task had not run yet
    dealer = dealer_user.dealer
    address = file_request(dealer_user, dealer, {"address": "来不及生效的地址"})
    services.change_request_approve(actor=ops, pk=address.pk)  # its task never ran
    Dealer.objects.filter(pk=dealer.pk).update(status=Dealer.Status.TERMINATED)
    # when the apply step runs
    services.change_request_apply_approved(approved_by=ops, pk=address.pk)
    # then it stays approved, with the reason for each reader in their language
    address.refresh_from_db()
    assert address.status == DealerChangeRequest.Status.APPROVED
    with translation.override("en"):
        assert address.apply_error_display == (
            "The dealer is terminated: its data can no longer change."
        )
        assert audit_events_for(address).first().reason_display == address.apply_error_display
    with translation.override("zh-hans"):
        assert address.apply_error_display == "该经销商已终止，资料不能再变更。"


def test_the_apply_step_does_not_depend_on_the_approver_still_having_rights(
    dealer_user, ops, django_capture_on_commit_callbacks
):
    change_request = file_request(dealer_user, dealer_user.dealer, {"address": "离职前批准的地址"})
    services.change_request_approve(actor=ops, pk=change_request.pk)
    ops.is_active = False
    ops.save(update_fields=["is_active"])
    ops.groups.clear()
    from dealers.tasks import apply_dealer_change_request

    assert apply_dealer_change_request.delay(change_request.pk, ops.pk).get() == "applied"
    dealer_user.dealer.refresh_from_db()
    assert dealer_user.dealer.address == "离职前批准的地址"
