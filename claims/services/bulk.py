"""Bulk decisions on claims: each through the same service as one decision, under its own
lock; over BULK_INLINE_LIMIT claims a background job."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claims.models import Claim
from claims.services.claim import _claim_decide, claim_approve, claim_pick_up

# Bulk decisions ---------------------------------------------------------------------------------

# Up to this many claims are decided in the request; more run as a background job.
BULK_INLINE_LIMIT = 200
BULK_MAX_CLAIMS = 50_000
BULK_DECISIONS = ("approve", "reset", "reject")
# Claims whose state is read ahead in one query while deciding them one by one.
HINT_CHUNK = 500


def _bulk_clean(*, decision, reasons, reason) -> tuple[str, list[str], str]:
    from ssa_ops.reasons import reason_codes_clean, reason_kind
    from ssa_ops.workflow import reason_clean

    if decision not in BULK_DECISIONS:
        raise ValidationError(
            {"decision": _("Choose one of: %(choices)s.") % {"choices": ", ".join(BULK_DECISIONS)}}
        )
    reason = reason_clean(Claim, decision, reason)
    codes = (
        reason_codes_clean(kind=reason_kind(Claim), codes=reasons) if decision != "approve" else []
    )
    return decision, codes, reason


def claim_bulk_decide_one(*, actor, pk, decision, reasons=(), reason="") -> Claim:
    """One claim of a bulk decision, through the same services as a single decision, under its
    own lock: a claim still waiting in the queue is picked up first."""
    return _bulk_decide_one(
        actor=actor, pk=pk, decision=decision, reasons=reasons, reason=reason, queued=False
    )


def _bulk_decide_one(*, actor, pk, decision, reasons, reason, queued, notify=True) -> Claim:
    """`queued`: whether the claim was last seen waiting in the queue, so picking it up comes
    first. Each service checks the state under the claim's lock; a claim found in the other
    case (picked up, or back in the queue, meanwhile) goes the other way, as if read now."""
    from ssa_ops.errors import TransitionNotAllowed

    def decide():
        if decision == "approve":
            return claim_approve(actor=actor, pk=pk, reason=reason, notify=notify)
        return _claim_decide(
            decision, actor=actor, pk=pk, reasons=list(reasons), reason=reason, notify=notify
        )

    def pick_up_and_decide():
        with transaction.atomic():
            claim_pick_up(actor=actor, pk=pk)
            return decide()

    first, other = (pick_up_and_decide, decide) if queued else (decide, pick_up_and_decide)
    try:
        return first()
    except TransitionNotAllowed as error:
        if (error.extra.get("status") in Claim.QUEUE_STATES) == queued:
            raise
    return other()


def claims_bulk_decide(*, actor, claim_ids, decision, reasons=(), reason="", progress=None):
    """Decide each claim in turn; a claim that cannot be decided now (changed meanwhile,
    filed by the actor, gone) is skipped with why, never overwritten. Returns
    (decided numbers, skipped [{"record", "code", "message"}]) with stored sentences."""
    from ssa_ops.errors import ApplicationError as Refusal
    from ssa_ops.texts import text_from_error, text_store

    decided, skipped = [], []
    total = len(claim_ids)
    seen = {}
    # Decided claims not yet told to their dealer: {dealer id: [claim number, ...]}.
    untold: dict[int, list[str]] = {}
    for index, pk in enumerate(claim_ids, start=1):
        if (index - 1) % HINT_CHUNK == 0:
            _dealers_notify(untold, decision=decision, reasons=reasons, reason=reason)
            # Which claims wait in the queue, read ahead a chunk at a time instead of per claim:
            # only the first step to try; each claim's state is checked again under its lock.
            chunk = claim_ids[index - 1 : index - 1 + HINT_CHUNK]
            seen = dict(Claim.objects.filter(pk__in=chunk).values_list("pk", "status"))
        number = f"CL-{pk:07d}"
        try:
            claim = _bulk_decide_one(
                actor=actor,
                pk=pk,
                decision=decision,
                reasons=reasons,
                reason=reason,
                queued=seen.get(pk) in Claim.QUEUE_STATES,
                notify=False,
            )
            decided.append(number)
            untold.setdefault(claim.dealer_id, []).append(number)
        except Claim.DoesNotExist:
            skipped.append(
                {
                    "record": number,
                    "code": "not_found",
                    "message": text_store(gettext_lazy("This claim no longer exists.")),
                }
            )
        except (Refusal, ValidationError) as error:
            skipped.append(
                {
                    "record": number,
                    "code": getattr(error, "code", None) or "invalid",
                    "message": text_from_error(error),
                }
            )
        if progress is not None and (index % 50 == 0 or index == total):
            progress(index, total)
    _dealers_notify(untold, decision=decision, reasons=reasons, reason=reason)
    return decided, skipped


def _dealers_notify(untold: dict, *, decision, reasons, reason) -> None:
    """One email per dealer for the claims of a bulk decision (not one per claim), to its
    special-sales contacts in their languages; `untold` is emptied."""
    from claims.services.common import _special_sales_contacts
    from ssa_ops.notifications import email_queue
    from ssa_ops.reasons import reason_labels

    codes = list(reasons)
    status = {"approve": Claim.Status.APPROVED, "reset": Claim.Status.RESET}.get(
        decision, Claim.Status.REJECTED
    )
    for dealer_id, numbers in untold.items():
        with transaction.atomic():
            for email, language in _special_sales_contacts(dealer_id):
                email_queue(
                    to=email,
                    template="claims_bulk_decided",
                    context={
                        "numbers": numbers,
                        "status": status,
                        "comment": reason,
                        "reason_labels": lambda: reason_labels(codes),
                    },
                    language=language,
                )
    untold.clear()


def claims_bulk_preview(*, actor, claim_ids, decision, reasons=(), reason="") -> dict:
    """What deciding these claims would do now, without doing it: {"total", "decide",
    "skipped": [{"code", "message" (stored sentence), "count", "records": first numbers}]}.
    A claim waiting in the queue is picked up first, so its first step is the one checked;
    the decisions themselves have no further conditions. The run checks again under lock."""
    from ssa_ops.errors import ApplicationError as Refusal
    from ssa_ops.texts import text_from_error
    from ssa_ops.workflow import transition_check

    _bulk_clean(decision=decision, reasons=reasons, reason=reason)  # refused now, not at the end
    decide, groups = 0, {}
    fields = ("pk", "status", "created_by_id", "assigned_to_id")
    for start in range(0, len(claim_ids), 1000):
        chunk = claim_ids[start : start + 1000]
        for claim in Claim.objects.filter(pk__in=chunk).only(*fields).order_by("pk"):
            first = "pick_up" if claim.status in Claim.QUEUE_STATES else decision
            try:
                transition_check(claim, first, actor)
            except Refusal as error:
                group = groups.setdefault(
                    (error.code, str(error.message)),
                    {"code": error.code, "message": text_from_error(error), "count": 0},
                )
                group["count"] += 1
                group.setdefault("records", [])
                if len(group["records"]) < 10:
                    group["records"].append(claim.number)
            else:
                decide += 1
    skipped = sorted(groups.values(), key=lambda group: -group["count"])
    return {"total": len(claim_ids), "decide": decide, "skipped": skipped}


def claims_bulk_scope(*, actor, claim_ids) -> list[int]:
    """The selected ids the actor may see, sorted; at most BULK_MAX_CLAIMS."""
    from claims.selectors import claim_list

    wanted = sorted(set(claim_ids))
    if len(wanted) > BULK_MAX_CLAIMS:
        raise ValidationError({"ids": _("At most %(n)s claims at once.") % {"n": BULK_MAX_CLAIMS}})
    visible = claim_list(user=actor)
    ids = []
    for start in range(0, len(wanted), 1000):  # bounded IN lists, whatever the database
        chunk = wanted[start : start + 1000]
        ids.extend(visible.filter(pk__in=chunk).values_list("pk", flat=True))
    ids.sort()
    if not ids:
        raise ValidationError({"ids": _("Choose at least one claim you may see.")})
    return ids


def claims_bulk_start(*, actor, claim_ids, decision, reasons=(), reason=""):
    """A bulk decision on claims the actor has selected (ids it may see): up to
    BULK_INLINE_LIMIT decided now, returning (decided, skipped, None); more run as a job,
    returning ((), (), job). Bad input (decision, reasons) is refused before anything runs."""
    from ssa_ops.jobs import job_start

    decision, codes, reason = _bulk_clean(decision=decision, reasons=reasons, reason=reason)
    if not actor.has_perm("claims.decide_claim"):
        from ssa_ops.errors import PermissionRefused

        raise PermissionRefused(_("You may not do this."), code="permission_denied")
    ids = claims_bulk_scope(actor=actor, claim_ids=claim_ids)
    if len(ids) <= BULK_INLINE_LIMIT:
        decided, skipped = claims_bulk_decide(
            actor=actor, claim_ids=ids, decision=decision, reasons=codes, reason=reason
        )
        return decided, skipped, None
    job = job_start(
        kind="claims_bulk_decide",
        actor=actor,
        params={"ids": ids, "decision": decision, "reasons": codes, "reason": reason},
    )
    return (), (), job


def claims_bulk_job_run(job, progress):
    """The job handler: decide the job's claims as the user who started it; the summary
    counts decided and skipped claims, each skipped one listed with why."""
    from ssa_ops.jobs import JobOutcome
    from ssa_ops.texts import text_store

    params = job.params
    decided, skipped = claims_bulk_decide(
        actor=job.created_by,
        claim_ids=params["ids"],
        decision=params["decision"],
        reasons=params.get("reasons", []),
        reason=params.get("reason", ""),
        progress=progress,
    )
    return JobOutcome(
        ok=True,
        message=text_store(
            gettext_lazy("%(done)s claims decided, %(skipped)s skipped."),
            done=len(decided),
            skipped=len(skipped),
        ),
        summary={"done": len(decided), "skipped": len(skipped)},
        errors=skipped,
        error_count=len(skipped),
    )
