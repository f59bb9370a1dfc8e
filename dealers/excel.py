"""Dealer master data in and out of Excel: the import spec and the export writers."""

import io

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as N_

from dealers.credit_code import credit_code_problem
from dealers.models import CREDIT_CODE_MESSAGES, Dealer, DealerContact, DealerGroup, Region
from dealers.selectors import DEALER_SORTING, dealer_search
from dealers.services import email_clean, phone_clean
from ssa_ops.audit import audit_event_build, audit_events_for, audit_record_many
from ssa_ops.excel_export import workbook_open
from ssa_ops.excel_import import (
    Column,
    ImportSpec,
    SheetSpec,
    error_report_build,
    excel_import_run,
)
from ssa_ops.jobs import JobOutcome
from ssa_ops.models import User
from ssa_ops.texts import text_store
from ssa_ops.validation import model_text_clean


def _parser(clean):
    """An import column's parse from the one validation the form, API and services use; its
    message is kept as a stored text for the error report."""

    def parse(text):
        try:
            return clean(text)
        except ValidationError as error:
            raise ValueError(text_store(error.message, **(error.params or {}))) from None

    return parse


def _text(model, field_name, *, upper=False):
    def clean(text):
        value = model_text_clean(model, field_name, text, required=False)
        return value.upper() if upper else value

    return _parser(clean)


def _credit_code(text):
    code = _text(Dealer, "credit_code", upper=True)(text)
    problem = credit_code_problem(code)
    if problem:
        raise ValueError(text_store(CREDIT_CODE_MESSAGES[problem]))
    return code


# What people type in the workbook, in either language, for each stored value.
STATUS_WORDS = {
    Dealer.Status.ACTIVE: ("active", "正常", "启用", "有效"),
    Dealer.Status.SUSPENDED: ("suspended", "暂停", "停用"),
    Dealer.Status.TERMINATED: ("terminated", "终止", "解约"),
}
CONTACT_ROLE_WORDS = {
    DealerContact.Role.GENERAL_MANAGER: ("general_manager", "general manager", "总经理"),
    DealerContact.Role.SALES_MANAGER: ("sales_manager", "sales manager", "销售经理"),
    DealerContact.Role.SPECIAL_SALES: (
        "special_sales",
        "special-sales contact",
        "special sales",
        "大客户联系人",
        "特殊销售联系人",
    ),
    DealerContact.Role.FINANCE: ("finance", "财务"),
}


def _word_parser(words: dict, message):
    lookup = {word.casefold(): value for value, options in words.items() for word in options}

    def parse(text):
        value = lookup.get(text.strip().casefold())
        if value is None:
            raise ValueError(text_store(message))
        return value

    return parse


_status = _word_parser(
    STATUS_WORDS, gettext_lazy("Status must be active, suspended or terminated (正常, 暂停, 终止).")
)
_contact_role = _word_parser(
    CONTACT_ROLE_WORDS,
    gettext_lazy(
        "Role must be general_manager, sales_manager, special_sales or finance "
        "(总经理, 销售经理, 大客户联系人, 财务)."
    ),
)


_phone = _parser(phone_clean)
_email = _parser(email_clean)


def _yes_no(text):
    value = text.strip().casefold()
    if value in {"1", "y", "yes", "true", "是", "x"}:
        return True
    if value in {"0", "n", "no", "false", "否", ""}:
        return False
    raise ValueError(text_store(gettext_lazy("Write yes or no.")))


# Headers are English source names (gettext_noop): templates and error reports show them in
# the reader's language, and the import accepts either language, the aliases or the code.
DEALER_COLUMNS = (
    Column(
        "code",
        N_("Dealer code"),
        required=True,
        parse=_text(Dealer, "code", upper=True),
        aliases=("经销商代码", "code"),
        example="D0101",
    ),
    Column(
        "name_zh",
        N_("Chinese name"),
        required=True,
        parse=_text(Dealer, "name_zh"),
        aliases=("中文名称",),
        example="上海浦东示例汽车销售服务有限公司",
    ),
    Column(
        "name_en",
        N_("English name"),
        parse=_text(Dealer, "name_en"),
        aliases=("英文名称",),
        example="Shanghai Pudong Example Motors",
    ),
    Column(
        "region",
        N_("Region"),
        required=True,
        parse=_text(Region, "code", upper=True),
        aliases=("大区", "region code"),
        example="EAST",
    ),
    Column(
        "group",
        N_("Dealer group"),
        parse=_text(DealerGroup, "code", upper=True),
        aliases=("集团", "group code"),
    ),
    Column(
        "status",
        N_("Status"),
        parse=_status,
        aliases=("状态",),
        example="active",
        choices=("active", "suspended", "terminated", "正常", "暂停", "终止"),
    ),
    Column(
        "legal_entity",
        N_("Legal entity"),
        required=True,
        parse=_text(Dealer, "legal_entity"),
        aliases=("法人实体",),
        example="上海浦东示例汽车销售服务有限公司",
    ),
    Column(
        "credit_code",
        N_("Unified social credit code"),
        required=True,
        parse=_credit_code,
        aliases=("统一社会信用代码",),
        example="91310000MA1FL4CT3U",
    ),
    Column("address", N_("Address"), parse=_text(Dealer, "address"), aliases=("地址",)),
)
CONTACT_COLUMNS = (
    Column(
        "dealer_code",
        N_("Dealer code"),
        required=True,
        parse=_text(Dealer, "code", upper=True),
        aliases=("经销商代码",),
        example="D0101",
    ),
    Column(
        "role",
        N_("Role"),
        required=True,
        parse=_contact_role,
        aliases=("角色",),
        example="special_sales",
        choices=(
            "general_manager",
            "sales_manager",
            "special_sales",
            "finance",
            "总经理",
            "销售经理",
            "大客户联系人",
            "财务",
        ),
    ),
    Column(
        "name",
        N_("Name"),
        required=True,
        parse=_text(DealerContact, "name"),
        aliases=("姓名",),
        example="陈晓",
    ),
    Column(
        "phone", N_("Phone"), required=True, parse=_phone, aliases=("电话",), example="13800138000"
    ),
    Column("email", N_("Email"), parse=_email, aliases=("邮箱",), example="chen.xiao@example.com"),
    Column(
        "is_primary",
        N_("Primary"),
        parse=_yes_no,
        aliases=("主要联系人",),
        example="yes",
        choices=("yes", "no", "是", "否"),
    ),
)
DEALERS_SHEET, CONTACTS_SHEET = "Dealers", "Contacts"


class DealerImportSpec(ImportSpec):
    """Dealers keyed by code (created or updated) and, if given, each listed dealer's full contact
    list (replacing its contacts). Status changes of existing dealers go through change requests."""

    sheets = (
        SheetSpec(DEALERS_SHEET, DEALER_COLUMNS, aliases=("经销商",)),
        SheetSpec(CONTACTS_SHEET, CONTACT_COLUMNS, required=False, aliases=("联系人",)),
    )

    def validate(self, rows, report):
        regions = dict(Region.objects.values_list("code", "pk"))
        groups = dict(DealerGroup.objects.values_list("code", "pk"))
        existing = {
            row["code"]: row for row in Dealer.objects.values("pk", "code", "credit_code", "status")
        }
        credit_owner = {row["credit_code"]: code for code, row in existing.items()}
        seen_codes, seen_credit = {}, {}
        for row in rows.get(DEALERS_SHEET, []):
            values = row.values
            code = values.get("code")
            if code:
                if code in seen_codes:
                    report.add(
                        DEALERS_SHEET,
                        row.number,
                        "Dealer code",
                        text_store(
                            gettext_lazy("Dealer code repeats row %(row)s."), row=seen_codes[code]
                        ),
                    )
                seen_codes.setdefault(code, row.number)
            if values.get("region") and values["region"] not in regions:
                report.add(
                    DEALERS_SHEET,
                    row.number,
                    "Region",
                    text_store(gettext_lazy("Unknown region code.")),
                )
            if values.get("group") and values["group"] not in groups:
                report.add(
                    DEALERS_SHEET,
                    row.number,
                    "Dealer group",
                    text_store(gettext_lazy("Unknown dealer group code.")),
                )
            credit = values.get("credit_code")
            if credit:
                if credit in seen_credit:
                    report.add(
                        DEALERS_SHEET,
                        row.number,
                        "Unified social credit code",
                        text_store(
                            gettext_lazy("Credit code repeats row %(row)s."),
                            row=seen_credit[credit],
                        ),
                    )
                seen_credit.setdefault(credit, row.number)
                owner = credit_owner.get(credit)
                if owner and owner != code:
                    report.add(
                        DEALERS_SHEET,
                        row.number,
                        "Unified social credit code",
                        text_store(
                            gettext_lazy("Dealer %(code)s already has this credit code."),
                            code=owner,
                        ),
                    )
            current = existing.get(code)
            if current and values.get("status") and values["status"] != current["status"]:
                report.add(
                    DEALERS_SHEET,
                    row.number,
                    "Status",
                    text_store(
                        gettext_lazy(
                            "Status of an existing dealer changes only through a change request."
                        )
                    ),
                )
        known_codes = set(existing) | set(seen_codes)
        primary_rows = {}
        for row in rows.get(CONTACTS_SHEET, []):
            code = row.values.get("dealer_code")
            if code and code not in known_codes:
                report.add(
                    CONTACTS_SHEET,
                    row.number,
                    "Dealer code",
                    text_store(gettext_lazy("No dealer with this code in the file or the system.")),
                )
            if code and row.values.get("is_primary"):
                if code in primary_rows:
                    report.add(
                        CONTACTS_SHEET,
                        row.number,
                        "Primary",
                        text_store(
                            gettext_lazy("Dealer already has a primary contact in row %(row)s."),
                            row=primary_rows[code],
                        ),
                    )
                primary_rows.setdefault(code, row.number)

    def apply(self, rows, *, actor, progress):
        regions = dict(Region.objects.values_list("code", "pk"))
        groups = dict(DealerGroup.objects.values_list("code", "pk"))
        existing = {dealer.code: dealer for dealer in Dealer.objects.all()}
        to_create, to_update, changes_by_code = [], [], {}
        update_fields = (
            "name_zh",
            "name_en",
            "region_id",
            "group_id",
            "legal_entity",
            "credit_code",
            "address",
        )
        for row in rows.get(DEALERS_SHEET, []):
            v = row.values
            data = {
                "name_zh": v["name_zh"],
                "name_en": v.get("name_en") or "",
                "region_id": regions[v["region"]],
                "group_id": groups.get(v.get("group")),
                "legal_entity": v["legal_entity"],
                "credit_code": v["credit_code"],
                "address": v.get("address") or "",
            }
            dealer = existing.get(v["code"])
            if dealer is None:
                to_create.append(
                    Dealer(code=v["code"], status=v.get("status") or Dealer.Status.ACTIVE, **data)
                )
                continue
            changes = {
                field: [getattr(dealer, field), value]
                for field, value in data.items()
                if getattr(dealer, field) != value
            }
            if changes:
                for field, value in data.items():
                    setattr(dealer, field, value)
                to_update.append(dealer)
                changes_by_code[dealer.code] = changes
        Dealer.objects.bulk_create(to_create, batch_size=2000)
        Dealer.objects.bulk_update(to_update, update_fields, batch_size=2000)
        progress(1, 3, gettext_lazy("Saving"))
        # bulk_create sets primary keys on PostgreSQL and SQLite >= 3.35.
        existing.update((dealer.code, dealer) for dealer in to_create)
        created_codes = {dealer.code for dealer in to_create}
        contact_counts = self._contacts_replace(rows.get(CONTACTS_SHEET, []), existing)
        progress(2, 3, gettext_lazy("Saving"))
        # One audit event per dealer touched, naming what the import did to it.
        events = []
        for code in sorted(created_codes | set(changes_by_code) | set(contact_counts)):
            changes = dict(changes_by_code.get(code, {}))
            if code in contact_counts:
                changes["contacts"] = contact_counts[code]
            action = (
                "import_create"
                if code in created_codes
                else "import_update"
                if code in changes_by_code
                else "import_contacts"
            )
            dealer = existing[code]
            events.append(
                audit_event_build(
                    actor=actor,
                    obj=dealer,
                    action=action,
                    changes=changes,
                    to_state=dealer.status if action == "import_create" else "",
                )
            )
        audit_record_many(events)
        return {
            "created": len(to_create),
            "updated": len(to_update),
            "contacts": sum(contact_counts.values()),
        }

    def _contacts_replace(self, contact_rows, dealers_by_code) -> dict[str, int]:
        """Replace the contacts of every dealer named in the Contacts sheet; {code: count}."""
        if not contact_rows:
            return {}
        counts: dict[str, int] = {}
        for row in contact_rows:
            counts[row.values["dealer_code"]] = counts.get(row.values["dealer_code"], 0) + 1
        dealer_ids = [dealers_by_code[code].pk for code in counts]
        for start in range(0, len(dealer_ids), 2000):
            DealerContact.objects.filter(dealer_id__in=dealer_ids[start : start + 2000]).delete()
        DealerContact.objects.bulk_create(
            (
                DealerContact(
                    dealer_id=dealers_by_code[row.values["dealer_code"]].pk,
                    role=row.values["role"],
                    name=row.values["name"],
                    phone=row.values["phone"],
                    email=row.values.get("email") or "",
                    is_primary=bool(row.values.get("is_primary")),
                )
                for row in contact_rows
            ),
            batch_size=2000,
        )
        return counts


def dealer_import_error_report(job) -> bytes:
    """A refused dealer import's error workbook, in the downloader's language."""
    with job.input_file.open("rb") as source:
        data = source.read()
    return error_report_build(
        spec=DealerImportSpec(), source=data, filename=job.input_name, errors=job.errors
    )


def dealer_import_job(job, progress) -> JobOutcome:
    """Job handler: import the uploaded workbook.

    On any bad row nothing is written and the error workbook is the job's result.
    """
    job.input_file.open("rb")
    try:
        data = job.input_file.read()
    finally:
        job.input_file.close()
    result = excel_import_run(
        spec=DealerImportSpec(),
        source=data,
        actor=job.created_by,
        progress=progress,
        filename=job.input_name,
    )
    if not result.ok:
        return JobOutcome(
            ok=False,
            message=text_store(
                gettext_lazy(
                    "%(n)s problems found; nothing was imported. Download the error report."
                ),
                n=len(result.errors),
            ),
            result=result.error_workbook,
            result_name=f"dealer-import-errors-{job.pk}.xlsx",
            errors=[error.as_dict() for error in result.errors],
            error_count=len(result.errors),
        )
    summary = result.summary
    return JobOutcome(
        ok=True,
        message=text_store(
            gettext_lazy(
                "Imported: %(created)s new dealers, %(updated)s updated, %(contacts)s contacts."
            ),
            **summary,
        ),
        summary=summary,
    )


# The export reads back through the import: the same headers, plus the region's name beside
# its code and the primary contact, which the import ignores.
EXPORT_DEALER_HEADERS = [column.header for column in DEALER_COLUMNS] + [
    "Region name",
    "Primary contact",
    "Primary contact phone",
    "Primary contact email",
]
EXPORT_CONTACT_HEADERS = [column.header for column in CONTACT_COLUMNS]


def _export_queryset(user, params: dict):
    """The dealers the list showed when the export was asked for: its filters and sort."""
    region = (
        Region.objects.filter(pk=params.get("region")).first() if params.get("region") else None
    )
    group = (
        DealerGroup.objects.filter(pk=params.get("group")).first() if params.get("group") else None
    )
    dealers = dealer_search(
        user=user,
        query=params.get("q", ""),
        region=region,
        status=params.get("status", ""),
        group=group,
    )
    return DEALER_SORTING.apply(dealers, params.get("sort", ""))[0]


def dealer_export_job(job, progress) -> JobOutcome:
    """Job handler: every dealer the user sees, with its primary contact, and all contacts."""
    user = User.objects.get(pk=job.created_by_id)
    dealers = _export_queryset(user, job.params or {})
    total = dealers.count()
    output = io.BytesIO()
    book = workbook_open(output, constant_memory=True)
    header = book.add_format({"bold": True, "bg_color": "#E9ECEF"})
    sheet = book.add_worksheet(DEALERS_SHEET)
    sheet.write_row(0, 0, EXPORT_DEALER_HEADERS, header)
    primaries = {
        row["dealer_id"]: row
        for row in DealerContact.objects.filter(is_primary=True, dealer__in=dealers).values(
            "dealer_id", "name", "phone", "email"
        )
    }
    status_labels = dict(Dealer.Status.choices)
    row_number = 0
    for row_number, row in enumerate(
        dealers.values(
            "pk",
            "code",
            "name_zh",
            "name_en",
            "region__code",
            "region__name_zh",
            "group__code",
            "status",
            "legal_entity",
            "credit_code",
            "address",
        ).iterator(chunk_size=2000),
        start=1,
    ):
        primary = primaries.get(row["pk"], {})
        sheet.write_row(
            row_number,
            0,
            [
                row["code"],
                row["name_zh"],
                row["name_en"],
                row["region__code"],
                row["group__code"] or "",
                str(status_labels[row["status"]]),
                row["legal_entity"],
                row["credit_code"],
                row["address"],
                row["region__name_zh"],
                primary.get("name", ""),
                primary.get("phone", ""),
                primary.get("email", ""),
            ],
        )
        if row_number % 2000 == 0:
            progress(row_number, total, gettext_lazy("Writing dealers"))
    contacts = book.add_worksheet(CONTACTS_SHEET)
    contacts.write_row(0, 0, EXPORT_CONTACT_HEADERS, header)
    for index, row in enumerate(
        DealerContact.objects.filter(dealer__in=dealers)
        .order_by("dealer__code", "-is_primary", "pk")
        .values("dealer__code", "role", "name", "phone", "email", "is_primary")
        .iterator(chunk_size=2000),
        start=1,
    ):
        contacts.write_row(
            index,
            0,
            [
                row["dealer__code"],
                row["role"],
                row["name"],
                row["phone"],
                row["email"],
                "yes" if row["is_primary"] else "no",
            ],
        )
    book.close()
    progress(total, total, gettext_lazy("Done"))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return JobOutcome(
        ok=True,
        message=text_store(gettext_lazy("%(n)s dealers exported."), n=row_number),
        result=output.getvalue(),
        result_name=f"dealers-{stamp}.xlsx",
        summary={"dealers": row_number},
    )


def dealer_workbook(dealer: Dealer) -> bytes:
    """One dealer with its contacts, change requests and full history, for the record."""
    output = io.BytesIO()
    book = workbook_open(output, remove_timezone=True)
    bold = book.add_format({"bold": True, "bg_color": "#E9ECEF"})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    profile = book.add_worksheet(_("Profile"))
    values = [
        (_("Dealer code"), dealer.code),
        (_("Chinese name"), dealer.name_zh),
        (_("English name"), dealer.name_en),
        (_("Region"), str(dealer.region)),
        (_("Dealer group"), str(dealer.group or "")),
        (_("Status"), str(dealer.get_status_display())),
        (_("Legal entity"), dealer.legal_entity),
        (_("Unified social credit code"), dealer.credit_code),
        (_("Address"), dealer.address),
    ]
    for index, (label, value) in enumerate(values):
        profile.write(index, 0, str(label), bold)
        profile.write_string(index, 1, value)
    profile.set_column(0, 0, 28)
    profile.set_column(1, 1, 50)
    contacts = book.add_worksheet(_("Contacts"))
    contacts.write_row(
        0,
        0,
        [str(_("Role")), str(_("Name")), str(_("Phone")), str(_("Email")), str(_("Primary"))],
        bold,
    )
    for index, contact in enumerate(dealer.contacts.all(), start=1):
        contacts.write_row(
            index,
            0,
            [
                str(contact.get_role_display()),
                contact.name,
                contact.phone,
                contact.email,
                "✓" if contact.is_primary else "",
            ],
        )
    requests = book.add_worksheet(_("Change requests"))
    requests.write_row(
        0,
        0,
        [
            str(_("Number")),
            str(_("Status")),
            str(_("Filed by")),
            str(_("Proposed values")),
            str(_("Decision reason")),
        ],
        bold,
    )
    for index, change in enumerate(dealer.change_requests.select_related("created_by"), start=1):
        requests.write_row(
            index,
            0,
            [
                change.number,
                str(change.get_status_display()),
                change.created_by.username,
                change.proposed_text,
                change.decision_reason,
            ],
        )
    history = book.add_worksheet(_("History"))
    history.write_row(
        0,
        0,
        [
            str(_("Time")),
            str(_("Actor")),
            str(_("Action")),
            str(_("From")),
            str(_("To")),
            str(_("Reason")),
            str(_("Changed fields")),
        ],
        bold,
    )
    for index, event in enumerate(audit_events_for(dealer), start=1):
        history.write_datetime(index, 0, timezone.localtime(event.created_at), when)
        history.write_row(
            index,
            1,
            [
                event.actor_name,
                str(event.action_label),
                str(event.from_state_label),
                str(event.to_state_label),
                event.reason,
                event.changes_text,
            ],
        )
    history.set_column(0, 0, 20)
    book.close()
    return output.getvalue()
