"""The deadlines of a claim reset: the dealer is reminded once, and a reset not answered in
time is rejected by a daily check."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from claims.models import Claim
from claims.services.claim import _CLAIMS
from claims.services.common import (
    _notify_dealer,
    _special_sales_contacts,
    _today,
)
from ssa_ops.notifications import email_queue
from ssa_ops.workflow import lock_for_update, transition_perform

RESET_NOT_ANSWERED = "RESET_NOT_ANSWERED"


def _reset_answer_days() -> int:
    return settings.CLAIM_RESET_ANSWER_DAYS


def claims_reset_remind(*, today=None) -> int:
    """Remind the dealer of resets due within CLAIM_RESET_REMIND_DAYS_BEFORE days, once per
    reset (a daily task). Returns how many claims were reminded."""
    today = today or _today()
    before = settings.CLAIM_RESET_REMIND_DAYS_BEFORE
    reset_before = timezone.make_aware(
        datetime.datetime.combine(
            today - datetime.timedelta(days=_reset_answer_days() - before),
            datetime.time.max,
        )
    )
    due = Claim.objects.filter(
        status=Claim.Status.RESET, reset_reminded_at=None, decided_at__lte=reset_before
    ).values_list("pk", flat=True)
    reminded = 0
    for pk in list(due):
        with transaction.atomic():
            # Only a claim still reset and not reminded: a conditional update, so two runs at
            # once remind once.
            if not Claim.objects.filter(
                pk=pk, status=Claim.Status.RESET, reset_reminded_at=None
            ).update(reset_reminded_at=timezone.now()):
                continue
            claim = Claim.objects.select_related("dealer").get(pk=pk)
            for email, language in _special_sales_contacts(claim.dealer_id):
                email_queue(
                    to=email,
                    template="claims_reset_reminder",
                    context={"record": claim, "deadline": claim.reset_answer_deadline},
                    language=language,
                    related_object=claim,
                )
            reminded += 1
    return reminded


def claims_reset_unanswered_reject(*, today=None) -> int:
    """Reject the claims whose reset was not answered within CLAIM_RESET_ANSWER_DAYS (a daily
    task), with the reason RESET_NOT_ANSWERED, telling the dealer. Returns how many."""
    today = today or _today()
    reset_before = timezone.make_aware(
        datetime.datetime.combine(
            today - datetime.timedelta(days=_reset_answer_days() + 1), datetime.time.max
        )
    )
    due = Claim.objects.filter(status=Claim.Status.RESET, decided_at__lte=reset_before).values_list(
        "pk", flat=True
    )
    rejected = 0
    for pk in list(due):
        with transaction.atomic():
            claim = lock_for_update(_CLAIMS, pk)
            if claim.status != Claim.Status.RESET:
                continue  # answered or withdrawn meanwhile
            transition_perform(
                claim.reject_unanswered,
                actor=None,
                params={"at": timezone.now()},
                reason_codes=[RESET_NOT_ANSWERED],
            )
            _notify_dealer(claim, reasons=[RESET_NOT_ANSWERED])
            rejected += 1
    return rejected
