from django.contrib import admin

from programs.models import (
    CorporateAccount,
    DocumentType,
    Program,
    ProgramRule,
    Qualification,
    SpecialApplication,
    VehicleModel,
)


@admin.register(VehicleModel)
class VehicleModelAdmin(admin.ModelAdmin):
    list_display = ["code", "series", "name_zh", "name_en", "msrp", "is_active"]
    list_filter = ["series", "is_active"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(DocumentType)
class DocumentTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "is_active"]


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["code", "type", "name_zh", "is_active", "checking_vendor"]
    list_filter = ["type", "is_active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changed only through the services (versions, workflows): read here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProgramRule)
class ProgramRuleAdmin(ReadOnlyAdmin):
    list_display = ["program", "version", "valid_from", "created_at"]
    list_filter = ["program"]


@admin.register(CorporateAccount)
class CorporateAccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "company_name", "credit_code", "dealer", "status"]
    list_filter = ["status"]
    search_fields = ["company_name", "credit_code"]


@admin.register(SpecialApplication)
class SpecialApplicationAdmin(ReadOnlyAdmin):
    list_display = ["id", "ssa_number", "program", "applicant_name", "dealer", "status"]
    list_filter = ["status", "program"]
    exclude = ["id_number", "employee_number"]


@admin.register(Qualification)
class QualificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer_name", "employer_name", "dealer", "vendor", "status"]
    list_filter = ["status"]
    exclude = ["id_number", "employee_number"]
