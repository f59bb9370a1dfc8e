"""Roles are groups with permissions; a user's role decides its navigation and dashboard.

The kit names the roles and its own permissions; each app adds the permissions its roles need
with `role_permissions_register` at ready().
"""

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


ROLE_PERMISSIONS: dict[str, list[str]] = {role: [] for role in Role}


def role_permissions_register(permissions_by_role: dict[str, list[str]]) -> None:
    for role, permissions in permissions_by_role.items():
        for permission in permissions:
            if permission not in ROLE_PERMISSIONS[role]:
                ROLE_PERMISSIONS[role].append(permission)


role_permissions_register(
    {
        Role.OPS: ["ssa_ops.view_outboundemail", "ssa_ops.view_vendorcompany"],
        Role.OPS_LEAD: [
            "ssa_ops.view_outboundemail",
            "ssa_ops.view_vendorcompany",
            "ssa_ops.resend_outboundemail",
            "ssa_ops.view_all_jobs",
            "ssa_ops.manage_reason",
        ],
        Role.VENDOR: ["ssa_ops.view_vendorcompany"],
        Role.IT: ["ssa_ops.view_outboundemail", "ssa_ops.view_all_jobs"],
        Role.ADMIN: [
            "ssa_ops.view_outboundemail",
            "ssa_ops.view_vendorcompany",
            "ssa_ops.resend_outboundemail",
            "ssa_ops.view_all_jobs",
            "ssa_ops.view_auditevent",
            "ssa_ops.manage_reason",
        ],
    }
)

# Personal information in full (ID numbers, ID card scans), every look recorded: ops check
# documents against applications day to day, ops leads and admins too; ops leads and admins
# also read and export the access log.
role_permissions_register(
    {
        Role.OPS: ["ssa_ops.view_personal_data"],
        Role.OPS_LEAD: ["ssa_ops.view_personal_data", "ssa_ops.view_personaldataaccess"],
        Role.ADMIN: ["ssa_ops.view_personal_data", "ssa_ops.view_personaldataaccess"],
    }
)
