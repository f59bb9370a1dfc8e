"""Roles are groups with permissions; a user's role decides its navigation and dashboard."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPS = "ops", _("Ops")
    OPS_LEAD = "ops_lead", _("Ops lead")
    REGION_MANAGER = "region_manager", _("Region manager")
    QC = "qc", _("Quality check")
    DEALER = "dealer", _("Dealer")
    VENDOR = "vendor", _("Vendor")
    IT = "it", _("IT")
    ADMIN = "admin", _("Administrator")


_OPS = [
    "dealers.view_region",
    "dealers.view_dealer",
    "dealers.view_all_dealers",
    "dealers.export_dealers",
    "dealers.view_dealercontact",
    "dealers.add_dealerchangerequest",
    "dealers.change_dealerchangerequest",
    "dealers.view_dealerchangerequest",
    "dealers.decide_dealerchangerequest",
    "ssa_ops.view_outboundemail",
    "ssa_ops.view_vendorcompany",
]
_OPS_LEAD = _OPS + [
    "dealers.import_dealers",
    "ssa_ops.resend_outboundemail",
    "ssa_ops.view_all_jobs",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.OPS: _OPS,
    Role.OPS_LEAD: _OPS_LEAD,
    Role.REGION_MANAGER: [
        "dealers.view_region",
        "dealers.view_dealer",
        "dealers.export_dealers",
        "dealers.view_dealercontact",
        "dealers.view_dealerchangerequest",
    ],
    Role.QC: [
        "dealers.view_region",
        "dealers.view_dealer",
        "dealers.view_all_dealers",
        "dealers.view_dealercontact",
    ],
    Role.DEALER: [
        "dealers.view_dealer",
        "dealers.view_dealercontact",
        "dealers.add_dealerchangerequest",
        "dealers.change_dealerchangerequest",
        "dealers.view_dealerchangerequest",
    ],
    Role.VENDOR: ["ssa_ops.view_vendorcompany"],
    Role.IT: [
        "dealers.view_region",
        "dealers.view_dealer",
        "dealers.view_all_dealers",
        "ssa_ops.view_outboundemail",
        "ssa_ops.view_all_jobs",
    ],
    Role.ADMIN: _OPS_LEAD + ["ssa_ops.view_auditevent"],
}
