from django.contrib import admin

from dealers.models import Dealer, DealerChangeRequest, DealerContact, DealerGroup, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en"]


@admin.register(DealerGroup)
class DealerGroupAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class ContactInline(admin.TabularInline):
    model = DealerContact
    extra = 0


@admin.register(Dealer)
class DealerAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "region", "group", "status"]
    list_filter = ["region", "status"]
    search_fields = ["code", "name_zh", "name_en", "credit_code"]
    readonly_fields = ["status"]
    inlines = [ContactInline]


@admin.register(DealerChangeRequest)
class DealerChangeRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "dealer", "status", "created_by", "submitted_at", "decided_by"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in DealerChangeRequest._meta.fields]

    def has_add_permission(self, request):
        return False
