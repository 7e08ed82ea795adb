"""Admin for visits and receipts: read-only. Visits are written whole by ingestion and
receipts are never edited (a correction issues a new one), so nothing here changes them.

The shopper token: never in a list, a filter or a search (a list is where it would leak in
bulk); on a visit's detail page it is shown to superusers only, for investigating disputes.
"""

from django.contrib import admin

from validation.models import CartCorrection, Event, Receipt, ReceiptLine, Visit


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Event
    extra = 0
    fields = ["seq", "external_id", "action", "sku", "quantity", "confidence", "occurred_at", "camera", "snippet"]
    readonly_fields = fields


class CartCorrectionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CartCorrection
    extra = 0
    fields = ["sku", "delta", "reason", "event", "created_by", "created_at"]
    readonly_fields = fields


class ReceiptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Receipt
    extra = 0
    fields = ["kind", "total_minor", "currency", "issued_at", "supersedes"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["external_id", "store", "status", "min_confidence", "audited", "exited_at", "due_at"]
    list_filter = ["status", "decision", "audited", "store"]
    search_fields = ["external_id"]
    list_select_related = ["store"]
    date_hierarchy = "exited_at"
    inlines = [EventInline, CartCorrectionInline, ReceiptInline]

    def get_fields(self, request, obj=None):
        fields = [f.name for f in Visit._meta.concrete_fields]
        if not request.user.is_superuser:
            fields.remove("shopper")
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


class ReceiptLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReceiptLine
    extra = 0
    fields = ["position", "sku", "name", "quantity", "price_minor", "total_minor"]
    readonly_fields = fields


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "visit", "kind", "total_minor", "currency", "issued_at", "supersedes"]
    list_filter = ["kind", "visit__store"]
    search_fields = ["visit__external_id"]
    list_select_related = ["visit__store"]
    date_hierarchy = "issued_at"
    inlines = [ReceiptLineInline]


@admin.register(CartCorrection)
class CartCorrectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["visit", "sku", "delta", "reason", "created_by", "created_at"]
    list_filter = ["reason"]
    search_fields = ["visit__external_id", "sku"]
    list_select_related = ["visit__store", "created_by"]
