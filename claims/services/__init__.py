"""Every write about pre-applications and claims, one module per subject; the names below are
the services views, the API, tasks and other apps call."""

from claims.services.bulk import (
    BULK_DECISIONS,
    BULK_INLINE_LIMIT,
    BULK_MAX_CLAIMS,
    claim_bulk_decide_one,
    claims_bulk_decide,
    claims_bulk_job_run,
    claims_bulk_start,
)
from claims.services.claim import (
    claim_approve,
    claim_create,
    claim_documents_add,
    claim_pick_up,
    claim_reject,
    claim_reset,
    claim_resubmit,
    claim_submit,
    claim_take_next,
    claim_update,
    claim_withdraw,
)
from claims.services.common import customer_kind_for
from claims.services.deadlines import (
    RESET_NOT_ANSWERED,
    claims_reset_remind,
    claims_reset_unanswered_reject,
)
from claims.services.preapplications import (
    preapplication_approve,
    preapplication_cancel,
    preapplication_create,
    preapplication_documents_add,
    preapplication_quota_check,
    preapplication_reject,
    preapplication_reset,
    preapplication_resubmit,
    preapplication_submit,
    preapplication_update,
    preapplications_expire,
)
from claims.services.settlement import settlement_run, settlement_statement

__all__ = [
    "BULK_DECISIONS",
    "BULK_INLINE_LIMIT",
    "BULK_MAX_CLAIMS",
    "RESET_NOT_ANSWERED",
    "claim_approve",
    "claim_bulk_decide_one",
    "claim_create",
    "claim_documents_add",
    "claim_pick_up",
    "claim_reject",
    "claim_reset",
    "claim_resubmit",
    "claim_submit",
    "claim_take_next",
    "claim_update",
    "claim_withdraw",
    "claims_bulk_decide",
    "claims_bulk_job_run",
    "claims_bulk_start",
    "claims_reset_remind",
    "claims_reset_unanswered_reject",
    "customer_kind_for",
    "preapplication_approve",
    "preapplication_cancel",
    "preapplication_create",
    "preapplication_documents_add",
    "preapplication_quota_check",
    "preapplication_reject",
    "preapplication_resubmit",
    "preapplication_reset",
    "preapplication_submit",
    "preapplication_update",
    "preapplications_expire",
    "settlement_run",
    "settlement_statement",
]
