"""Reads about pre-applications and claims, always scoped to what the user may see."""

import base64
import binascii
import datetime
import json
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims.models import Claim, PreApplication, SettlementBatch
from programs.models import DocumentType
from ssa_ops.models import Attachment
from ssa_ops.roles import Role
from ssa_ops.sorting import Sorting

QUEUE_PAGE_SIZE = 50

CLAIM_SORTING = Sorting(
    {
        "waiting": ("queued_at",),
        "number": (),
        "invoice_date": ("invoice_date",),
        "amount": ("support_amount",),
        "created": ("created_at",),
    },
    default="waiting",
)


def _scoped(queryset, user, permission):
    """Dealer users see their dealer's records, region managers their regions', ops and the
    other reading roles all; the checking vendor nothing yet."""
    if not user.is_authenticated or not user.has_perm(permission):
        return queryset.none()
    if user.role == Role.DEALER:
        return queryset.filter(dealer_id=user.dealer_id) if user.dealer_id else queryset.none()
    if user.role == Role.REGION_MANAGER:
        return queryset.filter(dealer__region__in=user.regions.all())
    if user.role == Role.VENDOR:
        return queryset.none()
    return queryset


def preapplication_list(*, user):
    return _scoped(
        PreApplication.objects.select_related(
            "dealer", "program", "rule", "corporate_account", "special_application", "created_by"
        ),
        user,
        "claims.view_preapplication",
    )


def preapplication_get(*, user, pk) -> PreApplication:
    record = preapplication_list(user=user).filter(pk=pk).first()
    if record is None:
        raise Http404
    return record


def claim_list(*, user):
    return _scoped(
        Claim.objects.select_related(
            "dealer", "dealer__region", "program", "rule", "vehicle_model", "assigned_to"
        ),
        user,
        "claims.view_claim",
    )


def claim_get(*, user, pk) -> Claim:
    claim = claim_list(user=user).filter(pk=pk).first()
    if claim is None:
        raise Http404
    return claim


# Documents ------------------------------------------------------------------------------------


def documents_of(record):
    return Attachment.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk)
    )


def documents_missing(record) -> list[str]:
    """The names (reader's language) of the documents the record's rule asks for at its stage
    that have no file yet, in the rule's order."""
    required = record.rule.documents_for(record.document_stage)
    if not required:
        return []
    present = set(
        documents_of(record).filter(purpose__in=required).values_list("purpose", flat=True)
    )
    names = {t.code: t.name for t in DocumentType.objects.filter(code__in=required)}
    return [names.get(code, code) for code in required if code not in present]


# The ops queue --------------------------------------------------------------------------------


@dataclass
class QueueFilters:
    status: str = ""
    program: int | None = None
    dealer: int | None = None
    region: int | None = None
    older_than_days: int | None = None
    assigned_to_me: bool = False
    flagged: bool = False
    # The invoice check's result (InvoiceCheckResult), e.g. "mismatch" or "needs_review".
    invoice_check: str = ""
    # An exact identifier: a claim number (CL-0000042), a VIN or an invoice number.
    query: str = ""


def _identifier_lookup(query: str) -> Q:
    """An exact identifier as a lookup on an indexed column (stored upper-case, so no UPPER()
    around the column): a claim number, a VIN, else an invoice number."""
    text = query.strip().upper()
    if text.startswith("CL-") and text[3:].isdigit() and len(text) <= 15:
        return Q(pk=int(text[3:]))
    if len(text) == 17:
        return Q(vin=text) | Q(invoice_number=text)
    return Q(invoice_number=text)


def claim_queue(*, user, filters: QueueFilters | None = None, sort: str = ""):
    """Claims the user may see, filtered as the queue asks, in the sort's order (ending with
    the id, so keyset pagination has a unique order). Without a state filter: what waits for
    ops (submitted, resubmitted, in review)."""
    filters = filters or QueueFilters()
    # A list row shows the dealer, program, model and reviewer: no rule (JSON) or region.
    claims = (
        claim_list(user=user)
        .select_related(None)
        .select_related("dealer", "program", "vehicle_model", "assigned_to")
    )
    if filters.query:
        claims = claims.filter(_identifier_lookup(filters.query))
    if filters.status:
        claims = claims.filter(status=filters.status)
    elif filters.query:
        pass  # an identifier finds the claim whatever its state
    else:
        claims = claims.filter(status__in=[*Claim.QUEUE_STATES, Claim.Status.IN_REVIEW])
    if filters.program:
        claims = claims.filter(program_id=filters.program)
    if filters.dealer:
        claims = claims.filter(dealer_id=filters.dealer)
    if filters.region:
        claims = claims.filter(dealer__region_id=filters.region)
    if filters.older_than_days:
        cutoff = timezone.now() - datetime.timedelta(days=filters.older_than_days)
        claims = claims.filter(queued_at__lt=cutoff)
    if filters.assigned_to_me:
        claims = claims.filter(assigned_to=user)
    if filters.flagged:
        claims = claims.filter(Q(duplicate_invoice=True) | Q(duplicate_document=True))
    if filters.invoice_check:
        claims = claims.filter(invoice_check=filters.invoice_check)
    claims, _key = CLAIM_SORTING.apply(claims, sort)
    return claims


COUNT_CAP = 1000


def working_days_waiting(since, *, today, limit) -> tuple[int, datetime.date]:
    """Working days (Monday to Friday) a claim has waited since `since`, and the day its
    `limit` working days run out. Public holidays are not known here."""
    import numpy

    start = timezone.localdate(since)
    days = int(numpy.busday_count(start, today)) if today > start else 0
    deadline = numpy.busday_offset(start, limit, roll="forward").astype(datetime.date)
    return days, deadline


def claim_state_counts(*, user, filters: QueueFilters, states) -> list[tuple[str, int, bool]]:
    """(state, count, capped) per state with the other filters applied, each counted up to
    COUNT_CAP + 1 rows (shown as "1000+"), so that a large table costs no full count."""
    counts = []
    for state in states:
        other = QueueFilters(**{**filters.__dict__, "status": state})
        rows = claim_queue(user=user, filters=other).order_by().values("pk")[: COUNT_CAP + 1]
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:  # SELECT count(*) FROM (... LIMIT 1001)
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS capped", params)
            n = cursor.fetchone()[0]
        counts.append((state, min(n, COUNT_CAP), n > COUNT_CAP))
    return counts


def claim_invoice_check_counts(*, user) -> dict[str, tuple[int, bool]]:
    """Claims waiting for ops whose invoice check found a mismatch or needs review: (count,
    capped) each, counted up to COUNT_CAP + 1 off the partial index."""
    counts = {}
    for result in ("mismatch", "needs_review"):
        rows = claim_queue(user=user, filters=QueueFilters(invoice_check=result)).order_by()
        n = rows.values("pk")[: COUNT_CAP + 1].count()
        counts[result] = (min(n, COUNT_CAP), n > COUNT_CAP)
    return counts


def keyset_page(queryset, *, after: tuple | None = None, size=QUEUE_PAGE_SIZE):
    """One page after the row whose sort values are `after` (None: the first page), without a
    COUNT: `size + 1` rows are read to know whether another page follows. `order` is the
    queryset's order_by (from a Sorting: all ascending or all descending, ending with the
    primary key), over columns without NULL in the rows listed.
    Returns (rows, the sort values of the last row or None when this is the last page)."""
    order = tuple(queryset.query.order_by)
    if after is not None:
        descending = order[0].startswith("-")
        fields = [name.lstrip("-") for name in order]
        lookup = "lt" if descending else "gt"
        condition = Q()
        for index, name in enumerate(fields):
            step = Q(**{f"{name}__{lookup}": after[index]})
            for earlier, value in zip(fields[:index], after[:index], strict=False):
                step &= Q(**{earlier: value})
            condition |= step
        queryset = queryset.filter(condition)
    rows = list(queryset[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = rows[-1]
    return rows, tuple(getattr(last, name.lstrip("-")) for name in order)


def cursor_encode(values) -> str:
    """The sort values of a page's last row as an opaque `next` cursor."""
    raw = json.dumps([str(v) for v in values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(raw: str, queryset) -> tuple:
    """The sort values a cursor names, each checked against its column of the queryset's order:
    ValueError for a cursor that is not one of ours, so it never reaches a query."""
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError("cursor") from None
    order = [name.lstrip("-") for name in queryset.query.order_by]
    if not isinstance(values, list) or len(values) != len(order):
        raise ValueError("cursor")
    cleaned = []
    model = queryset.model
    for name, value in zip(order, values, strict=True):
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        if not isinstance(value, str) or len(value) > 64:
            raise ValueError("cursor")
        try:
            cleaned.append(field.to_python(value))
        except (ValidationError, ValueError, TypeError):
            raise ValueError("cursor") from None
        if cleaned[-1] is None or (name == "pk" and not 0 < cleaned[-1] < 2**63):
            raise ValueError("cursor")
    return tuple(cleaned)


def claim_next_for(*, user) -> Claim | None:
    """The claim that has waited longest in the queue which the user may pick up (not one the
    user filed)."""
    if not user.has_perm("claims.decide_claim"):
        return None
    return (
        claim_list(user=user)
        .filter(status__in=Claim.QUEUE_STATES)
        .exclude(created_by=user)
        .order_by("queued_at", "id")
        .first()
    )


def preapplication_queue(*, user):
    return preapplication_list(user=user).filter(status__in=PreApplication.QUEUE_STATES)


# Duplicates -----------------------------------------------------------------------------------


def claim_duplicates(*, claim, user) -> dict:
    """What the flags point at, as the user may see it: other claims of the same invoice
    number or with the same file. A dealer user sees numbers only of its own dealer's claims
    and, for another dealer's, only that one exists."""
    same_invoice = Claim.objects.filter(invoice_number=claim.invoice_number).exclude(pk=claim.pk)
    own_documents = documents_of(claim).values_list("sha256", flat=True)
    claim_type = ContentType.objects.get_for_model(Claim)
    same_file_ids = (
        Attachment.objects.filter(content_type=claim_type, sha256__in=list(own_documents))
        .exclude(object_id=str(claim.pk))
        .values_list("object_id", flat=True)
    )
    same_file = Claim.objects.filter(pk__in=[int(pk) for pk in same_file_ids])
    read_ids = {
        pk for ids in claim.invoice_checks.values_list("other_claims", flat=True) for pk in ids
    }
    same_read = Claim.objects.filter(pk__in=sorted(read_ids))
    visible = claim_list(user=user)
    result = {}
    groups = (("invoice", same_invoice), ("document", same_file), ("read", same_read))
    for name, others in groups:
        others = list(others.only("pk", "dealer_id"))
        seen = set(visible.filter(pk__in=[o.pk for o in others]).values_list("pk", flat=True))
        result[name] = {
            "visible": sorted(f"CL-{pk:07d}" for pk in seen),
            "links": [{"number": f"CL-{pk:07d}", "id": pk} for pk in sorted(seen)],
            "elsewhere": len([o for o in others if o.pk not in seen]),
        }
    return result


# The invoice check -------------------------------------------------------------------------------

INVOICE_FIELD_LABELS = {
    "invoice_code": _("Invoice code"),
    "invoice_number": _("Invoice number"),
    "issue_date": _("Issue date"),
    "buyer_name": _("Buyer"),
    "buyer_id": _("Buyer ID number or credit code"),
    "seller_name": _("Seller"),
    "seller_id": _("Seller credit code"),
    "vin": "VIN",
    "vehicle_model": _("Vehicle model"),
    "price_excl_tax": _("Price excluding tax"),
    "tax_amount": _("Tax"),
    "total_amount": _("Total including tax"),
}
INVOICE_CHECK_NAMES = {
    "invoice_number_format": _("Invoice number format"),
    "invoice_code_format": _("Invoice code format"),
    "issue_date_plausible": _("Plausible issue date"),
    "buyer_id_valid": _("Buyer ID checksum"),
    "seller_id_valid": _("Seller credit code checksum"),
    "vin_check_digit": _("VIN check digit"),
    "amounts_add_up": _("Price + tax = total"),
    "amount_in_words_matches": _("Total = amount in words"),
    "document_consistent": _("Buyer and seller consistent"),
}


INVOICE_READING_ERRORS = {
    "empty": _("The file is empty."),
    "too_large": _("The file is too large to read."),
    "encrypted": _("The file is password-protected."),
    "corrupt": _("The file is damaged."),
    "no_invoice_found": _("No invoice was found in the file."),
    "too_many_attempts": _("Reading the file failed again and again."),
    "file_missing": _("The stored file is missing."),
}


def _box_style(box) -> str:
    """A field's box (fractions of the page) as the CSS that outlines it over the image."""
    if not box or len(box) != 4:
        return ""
    left, top, width, height = (max(0.0, min(1.0, float(v))) * 100 for v in box)
    return f"left:{left:.2f}%;top:{top:.2f}%;width:{width:.2f}%;height:{height:.2f}%"


def invoice_checks_for(claim) -> list:
    """The claim's invoice checks, each with its fields in reading order: what the claim
    says, what the invoice says, the comparison once ops have had their word, the box."""
    from claims.invoice_reader.fields import FIELD_NAMES

    checks = list(claim.invoice_checks.select_related("attachment"))
    for check in checks:
        compared = check.comparison.get("fields") or {}
        effective = check.field_results()
        read = (check.reading or {}).get("fields") or {}
        rows = []
        for name in FIELD_NAMES:
            item, reading = compared.get(name), read.get(name) or {}
            if item is None and not reading.get("value"):
                continue
            rows.append(
                {
                    "name": name,
                    "label": INVOICE_FIELD_LABELS[name],
                    "claim": item["claim"] if item else None,
                    "invoice": reading.get("value"),
                    "compared": item is not None,
                    "machine_result": item["result"] if item else "",
                    "result": effective.get(name, ""),
                    "reason": item["reason"] if item else "",
                    "confidence": reading.get("confidence", 0),
                    "valid": reading.get("valid"),
                    "box": _box_style(reading.get("box")),
                    "page": reading.get("page", 0),
                    "review": check.reviews.get(name),
                }
            )
        check.rows = rows
        check.error_text = INVOICE_READING_ERRORS.get(check.error, _("The file could not be read."))
        check.check_rows = [
            (code, INVOICE_CHECK_NAMES.get(code, code), passed)
            for code, passed in ((check.reading or {}).get("checks") or {}).items()
        ]
    return checks


def invoice_check_get(*, user, claim_pk, pk):
    from claims.models import InvoiceCheck

    claim = claim_get(user=user, pk=claim_pk)
    check = InvoiceCheck.objects.filter(claim=claim, pk=pk).first()
    if check is None:
        raise Http404
    return check


# Settlement -----------------------------------------------------------------------------------


def settlement_list(*, user):
    """Settlement batches: a dealer its own, ops and the reading roles all, a region manager
    its regions'."""
    return _scoped(
        SettlementBatch.objects.select_related("dealer", "created_by"), user, "claims.view_claim"
    )
