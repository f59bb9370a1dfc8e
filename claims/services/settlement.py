"""The monthly settlement: each dealer's approved claims of a month are settled together in a
batch (final), with an Excel statement per dealer and totals by program."""

import datetime
import io
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim, SettlementBatch
from ssa_ops.audit import audit_record, audit_record_many
from ssa_ops.errors import ApplicationError, PermissionRefused
from ssa_ops.excel_export import workbook_open
from ssa_ops.workflow import lock_for_update, transition_perform


def _month_start(month: datetime.date) -> datetime.date:
    return month.replace(day=1)


def _next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def _settlement_allowed(*, actor, month: datetime.date) -> datetime.date:
    if not actor.has_perm("claims.settle_claims"):
        raise PermissionRefused(_("You may not do this."), code="permission_denied")
    month = _month_start(month)
    if _next_month(month) > timezone.localdate():
        raise ApplicationError(
            _("Only a month that has ended can be settled."), code="month_not_ended"
        )
    return month


def settlement_start(*, actor, month: datetime.date):
    """Settle a month in the background: the job's page shows progress per dealer and ends
    with the month's summary workbook (batches per dealer, totals by program)."""
    from ssa_ops.jobs import job_start

    month = _settlement_allowed(actor=actor, month=month)
    return job_start(kind="claims_settlement", actor=actor, params={"month": month.isoformat()})


def settlement_job_run(job, progress):
    """The job handler: the same settlement as settlement_run, as the user who started it."""
    from django.utils.translation import gettext_lazy

    from ssa_ops.jobs import JobOutcome
    from ssa_ops.texts import text_store

    month = datetime.date.fromisoformat(job.params["month"])
    batches = settlement_run(actor=job.created_by, month=month, progress=progress)
    settled = sum(batch.settled_now for batch in batches)
    return JobOutcome(
        ok=True,
        message=text_store(
            gettext_lazy("%(claims)s claims settled for %(dealers)s dealers, month %(month)s."),
            claims=settled,
            dealers=len(batches),
            month=f"{month:%Y-%m}",
        ),
        summary={"dealers": len(batches), "claims": settled},
        result=settlement_month_summary(month) if batches else None,
        result_name=f"settlement-{month:%Y-%m}.xlsx",
    )


def settlement_run(*, actor, month: datetime.date, progress=None) -> list[SettlementBatch]:
    """Settle every claim approved before the end of `month` and not settled yet, one batch
    per dealer and month (a second run adds what was approved late to the same batch). Each
    claim is settled under its own lock and audited; a settled claim is final. Only a month
    that has ended is settled."""
    month = _settlement_allowed(actor=actor, month=month)
    end = _next_month(month)
    cutoff = timezone.make_aware(datetime.datetime.combine(end, datetime.time.min))
    due = Claim.objects.filter(status=Claim.Status.APPROVED, settlement=None, decided_at__lt=cutoff)
    dealer_ids = sorted(set(due.values_list("dealer_id", flat=True)))
    batches = []
    for index, dealer_id in enumerate(dealer_ids, start=1):
        with transaction.atomic():
            batch, created = SettlementBatch.objects.get_or_create(
                dealer_id=dealer_id, month=month, defaults={"created_by": actor}
            )
            batch = lock_for_update(SettlementBatch.objects.all(), batch.pk)
            settled = 0
            # The dealer's due claims locked in one statement, in pk order; a claim changed
            # meanwhile no longer matches (PostgreSQL checks the filter again under the lock).
            claims = due.filter(dealer_id=dealer_id).select_for_update(of=("self",)).order_by("pk")
            events = []
            for claim in claims:
                transition_perform(
                    claim.settle,
                    actor=actor,
                    params={"at": timezone.now(), "batch": batch},
                    audit_events=events,
                )
                settled += 1
            audit_record_many(events)
            totals = batch.claims.aggregate(n=Count("pk"), total=Sum("support_amount"))
            batch.claim_count = totals["n"]
            batch.total_support = totals["total"] or Decimal("0")
            batch.save(update_fields=["claim_count", "total_support", "updated_at"])
            audit_record(
                actor=actor,
                obj=batch,
                action="create" if created else "update",
                changes={"claims_settled": settled, "total_support": str(batch.total_support)},
            )
            batch.settled_now = settled
            batches.append(batch)
        if progress is not None and (index % 20 == 0 or index == len(dealer_ids)):
            progress(index, len(dealer_ids))
    return batches


def settlement_statement(batch: SettlementBatch) -> bytes:
    """The dealer's statement of one batch as an Excel workbook in the reader's language:
    one row per claim, then the totals by program."""
    claims = (
        batch.claims.select_related("program", "vehicle_model")
        .order_by("program__code", "pk")
        .iterator(chunk_size=2000)
    )
    output = io.BytesIO()
    workbook = workbook_open(output, constant_memory=True)
    sheet = workbook.add_worksheet(_("Statement")[:31])
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, [_("Settlement"), batch.number, batch.dealer.code, batch.dealer.name_zh])
    headers = [
        _("Claim"),
        _("Program"),
        _("VIN"),
        _("Model"),
        _("Invoice number"),
        _("Invoice date"),
        _("Buyer"),
        _("Support amount"),
    ]
    sheet.write_row(2, 0, headers, bold)
    row = 3
    by_program: dict[str, list] = {}
    for claim in claims:
        sheet.write_row(
            row,
            0,
            [
                claim.number,
                claim.program.code,
                claim.vin,
                claim.vehicle_model.code,
                claim.invoice_number,
                claim.invoice_date.isoformat(),
                claim.buyer_name,
            ],
        )
        sheet.write_number(row, 7, float(claim.support_amount), money)
        totals = by_program.setdefault(claim.program.code, [0, Decimal("0")])
        totals[0] += 1
        totals[1] += claim.support_amount
        row += 1
    row += 1
    sheet.write_row(row, 0, [_("Totals by program"), _("Claims"), _("Support amount")], bold)
    for code, (count, total) in sorted(by_program.items()):
        row += 1
        sheet.write_row(row, 0, [code, count])
        sheet.write_number(row, 2, float(total), money)
    row += 1
    sheet.write_row(row, 0, [_("Total"), batch.claim_count], bold)
    sheet.write_number(row, 2, float(batch.total_support), money)
    workbook.close()
    return output.getvalue()


def settlement_month_summary(month: datetime.date) -> bytes:
    """The month's settlement in one workbook, in the reader's language: a row per dealer's
    batch, then the totals by program over every dealer."""
    month = _month_start(month)
    batches = (
        SettlementBatch.objects.filter(month=month)
        .select_related("dealer")
        .order_by("dealer__code")
        .iterator(chunk_size=2000)
    )
    output = io.BytesIO()
    workbook = workbook_open(output, constant_memory=True)
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    sheet = workbook.add_worksheet(_("Dealers")[:31])
    sheet.write_row(0, 0, [_("Settlement"), _("Dealer"), _("Dealer name"), _("Claims")], bold)
    sheet.write(0, 4, _("Support amount"), bold)
    row = 0
    for row, batch in enumerate(batches, start=1):
        sheet.write_row(row, 0, [batch.number, batch.dealer.code, batch.dealer.name_zh])
        sheet.write_number(row, 3, batch.claim_count)
        sheet.write_number(row, 4, float(batch.total_support), money)
    programs = workbook.add_worksheet(_("Totals by program")[:31])
    programs.write_row(0, 0, [_("Program"), _("Claims"), _("Support amount")], bold)
    totals = (
        Claim.objects.filter(settlement__month=month)
        .values("program__code")
        .annotate(n=Count("pk"), total=Sum("support_amount"))
        .order_by("program__code")
    )
    for index, line in enumerate(totals, start=1):
        programs.write_row(index, 0, [line["program__code"], line["n"]])
        programs.write_number(index, 2, float(line["total"]), money)
    workbook.close()
    return output.getvalue()
