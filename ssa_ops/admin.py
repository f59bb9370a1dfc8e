from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from ssa_ops.models import AuditEvent, BackgroundJob, OutboundEmail, User, VendorCompany


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("SSA Ops", {"fields": ["dealer", "vendor", "regions", "language"]}),
    ]
    list_display = ["username", "email", "dealer", "vendor", "is_active"]
    filter_horizontal = [*DjangoUserAdmin.filter_horizontal, "regions"]


@admin.register(VendorCompany)
class VendorCompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "contact_name", "contact_email", "is_active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "object_repr", "action", "from_state", "to_state"]
    list_filter = ["action"]
    search_fields = ["object_repr", "actor_name"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    # Bodies are left out: a password-reset link must not be readable by staff.
    list_display = ["created_at", "subject", "template", "status", "attempts"]
    list_filter = ["status", "template"]
    fields = [
        "created_at",
        "to",
        "subject",
        "template",
        "language",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    ]


@admin.register(BackgroundJob)
class BackgroundJobAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "created_by", "status", "progress_done", "progress_total"]
    list_filter = ["kind", "status"]
    exclude = ["params", "errors"]
