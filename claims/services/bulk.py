"""Bulk decisions on claims: each through the same service as one decision, under its own
lock; over BULK_INLINE_LIMIT claims a background job."""

from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claims.models import Claim
from claims.services.claim import claims_decide_each

# Bulk decisions ---------------------------------------------------------------------------------

# Up to this many claims are decided in the request; more run as a background job.
BULK_INLINE_LIMIT = 200
BULK_MAX_CLAIMS = 50_000
BULK_DECISIONS = ("approve", "reset", "reject")
# Claims decided in one transaction: their rows locked together (each still checked,
# transitioned and audited on its own), held at most a fraction of a second.
BULK_BATCH = 50  # PostgreSQL keeps up to 64 subtransactions (a queued claim's savepoint) at hand
# Lock waits that end so undo the batch: deadlock detected, lock not available.
_LOCK_FAILURES = ("40P01", "55P03")
# Dealers are told once this many decided claims wait to be told, one email each.
BULK_NOTIFY_EVERY = 500


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


def _batch_decide(*, actor, pks, decision, reasons, reason) -> tuple[dict, dict]:
    """One batch in its own transaction. Should a lock wait end in a deadlock or time out,
    the batch is undone and its claims decided one by one, each in its own transaction."""
    try:
        with transaction.atomic():
            return claims_decide_each(
                decision, actor=actor, pks=pks, reasons=reasons, reason=reason
            )
    except OperationalError as error:
        if len(pks) == 1 or getattr(error.__cause__, "sqlstate", None) not in _LOCK_FAILURES:
            raise
    done, refused = {}, {}
    for pk in pks:
        one_done, one_refused = _batch_decide(
            actor=actor, pks=[pk], decision=decision, reasons=reasons, reason=reason
        )
        done.update(one_done)
        refused.update(one_refused)
    return done, refused


def claims_bulk_decide(*, actor, claim_ids, decision, reasons=(), reason="", progress=None):
    """Decide each claim, BULK_BATCH claims to a transaction; a claim that cannot be decided
    now (changed meanwhile, filed by the actor, gone) is skipped with why, never overwritten.
    Returns (decided numbers, skipped [{"record", "code", "message"}]) with stored sentences."""
    from ssa_ops.texts import text_from_error, text_store

    decided, skipped = [], []
    total = len(claim_ids)
    # Decided claims not yet told to their dealer: {dealer id: [claim number, ...]}.
    untold: dict[int, list[str]] = {}
    for start in range(0, total, BULK_BATCH):
        batch = claim_ids[start : start + BULK_BATCH]
        done, refused = _batch_decide(
            actor=actor, pks=batch, decision=decision, reasons=reasons, reason=reason
        )
        for pk in batch:
            number = f"CL-{pk:07d}"
            if pk in done:
                decided.append(number)
                untold.setdefault(done[pk].dealer_id, []).append(number)
            elif isinstance(refused[pk], Claim.DoesNotExist):
                message = text_store(gettext_lazy("This claim no longer exists."))
                skipped.append({"record": number, "code": "not_found", "message": message})
            else:
                error = refused[pk]
                skipped.append(
                    {
                        "record": number,
                        "code": getattr(error, "code", None) or "invalid",
                        "message": text_from_error(error),
                    }
                )
        finished = start + len(batch)
        if sum(map(len, untold.values())) >= BULK_NOTIFY_EVERY:
            _dealers_notify(untold, decision=decision, reasons=reasons, reason=reason)
        if progress is not None:
            progress(finished, total)
    _dealers_notify(untold, decision=decision, reasons=reasons, reason=reason)
    return decided, skipped


def _dealers_notify(untold: dict, *, decision, reasons, reason) -> None:
    """One email per dealer for the claims of a bulk decision (not one per claim), to its
    special-sales contacts in their languages; `untold` is emptied."""
    from claims.services.common import _special_sales_contacts_of
    from ssa_ops.notifications import email_queue
    from ssa_ops.reasons import reason_labels

    if not untold:
        return
    codes = list(reasons)
    status = {"approve": Claim.Status.APPROVED, "reset": Claim.Status.RESET}.get(
        decision, Claim.Status.REJECTED
    )
    contacts = _special_sales_contacts_of(untold)
    with transaction.atomic():
        for dealer_id, numbers in untold.items():
            for email, language in contacts.get(dealer_id, []):
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
