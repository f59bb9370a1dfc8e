"""The shared reason catalog as the kit gives it: codes stored, labels read in the reader's
language, only active reasons of the record's kind accepted."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from programs import services
from ssa_ops.audit import audit_events_for
from ssa_ops.reasons import reason_codes_clean, reason_create, reason_update
from ssa_ops.roles import Role
from tests.programs.factories import account_values

pytestmark = pytest.mark.django_db

ACCOUNT = "programs.corporateaccount"


def test_a_reason_is_stored_as_its_code_and_read_in_each_readers_language(make_user):
    lead, ops, dealer_user = make_user(Role.OPS_LEAD), make_user(Role.OPS), make_user(Role.DEALER)
    reason_create(
        actor=lead,
        code="doc_missing",
        label_zh="缺少文件",
        label_en="Missing document",
        applies_to=[ACCOUNT],
    )
    account = services.corporate_account_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=account_values()
    )
    services.corporate_account_submit(actor=dealer_user, pk=account.pk)
    services.corporate_account_reject(actor=ops, pk=account.pk, reasons=["DOC_MISSING"])
    event = audit_events_for(account).get(action="reject")
    assert event.reason_codes == ["DOC_MISSING"] and event.reason == ""
    with translation.override("en"):
        assert event.reason_display == "Missing document"
    with translation.override("zh-hans"):
        assert event.reason_display == "缺少文件"


def test_only_active_reasons_of_the_records_kind_are_accepted(make_user):
    lead = make_user(Role.OPS_LEAD)
    reason = reason_create(
        actor=lead, code="BLURRY", label_zh="模糊", label_en="Blurry", applies_to=[ACCOUNT]
    )
    reason_create(
        actor=lead,
        code="NO_RECORD",
        label_zh="无记录",
        label_en="No record",
        applies_to=["programs.qualification"],
    )
    assert reason_codes_clean(kind=ACCOUNT, codes=["BLURRY", "BLURRY"]) == ["BLURRY"]
    with pytest.raises(ValidationError):
        reason_codes_clean(kind=ACCOUNT, codes=["NO_RECORD"])
    with pytest.raises(ValidationError):
        reason_codes_clean(kind=ACCOUNT, codes=[])
    with pytest.raises(ValidationError):
        reason_codes_clean(kind=ACCOUNT, codes=[1])
    reason_update(actor=lead, pk=reason.pk, is_active=False)
    with pytest.raises(ValidationError):
        reason_codes_clean(kind=ACCOUNT, codes=["BLURRY"])
    assert [e.action for e in audit_events_for(reason)] == ["update", "create"]


def test_a_code_is_unique_and_well_formed(make_user):
    lead = make_user(Role.OPS_LEAD)
    reason_create(actor=lead, code="DUP", label_zh="重复", label_en="Dup", applies_to=[ACCOUNT])
    for code in ("dup", "a b", "X", ""):
        with pytest.raises(ValidationError):
            reason_create(actor=lead, code=code, label_zh="x", label_en="x", applies_to=[ACCOUNT])
    with pytest.raises(ValidationError):
        reason_create(actor=lead, code="NEW", label_zh="x", label_en="x", applies_to=["nope.x"])
