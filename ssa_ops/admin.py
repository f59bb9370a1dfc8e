from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ssa_ops.accounts import user_credentials_revoke, user_deactivate
from ssa_ops.models import (
    AuditEvent,
    BackgroundJob,
    DecisionLink,
    OutboundEmail,
    Reason,
    User,
    VendorCompany,
)


class AdminPasswordChangeForm(auth_forms.AdminPasswordChangeForm):
    """A password set by an admin signs the user out everywhere (API token, sessions)."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        user_credentials_revoke(user=user)
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("SSA Ops", {"fields": ["dealer", "vendor", "regions", "language"]}),
    ]
    list_display = ["username", "email", "dealer", "vendor", "is_active"]
    filter_horizontal = [*DjangoUserAdmin.filter_horizontal, "regions"]
    change_password_form = AdminPasswordChangeForm
    actions = ["deactivate_users"]

    def save_model(self, request, obj, form, change):
        deactivated = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if deactivated:
            user_deactivate(user=obj)

    @admin.action(description=_("Deactivate the selected users"), permissions=["change"])
    def deactivate_users(self, request, queryset):
        # Not oneself: that would end the session this answer is written to.
        users = list(queryset.exclude(pk=request.user.pk))
        for user in users:
            user_deactivate(user=user)
        self.message_user(
            request,
            ngettext("%(count)d user deactivated.", "%(count)d users deactivated.", len(users))
            % {"count": len(users)},
            messages.SUCCESS,
        )


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


@admin.register(Reason)
class ReasonAdmin(admin.ModelAdmin):
    """Saved through the reason services, so every change is audited and codes stay fixed."""

    list_display = ["code", "label_zh", "label_en", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "label_zh", "label_en"]
    fields = ["code", "label_zh", "label_en", "applies_to", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def save_model(self, request, obj, form, change):
        from ssa_ops.reasons import reason_create, reason_update

        values = {
            "label_zh": obj.label_zh,
            "label_en": obj.label_en,
            "applies_to": obj.applies_to,
            "is_active": obj.is_active,
        }
        if change:
            reason_update(actor=request.user, pk=obj.pk, **values)
        else:
            obj.pk = reason_create(actor=request.user, code=obj.code, **values).pk

    def has_delete_permission(self, request, obj=None):
        return False  # stored codes keep meaning what they meant: deactivate instead


@admin.register(DecisionLink)
class DecisionLinkAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "purpose", "approver_email", "status", "expires_at", "used_at"]
    list_filter = ["purpose", "status"]
    exclude = ["secret_hash"]
