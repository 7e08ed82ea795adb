from django.contrib import admin

from catalog.models import Camera, Product, Store, StoreAccess


class CameraInline(admin.TabularInline):
    model = Camera
    extra = 0


class StoreAccessInline(admin.TabularInline):
    model = StoreAccess
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "timezone", "auto_accept_threshold", "sla_minutes", "audit_rate"]
    search_fields = ["code", "name"]
    inlines = [CameraInline, StoreAccessInline]


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    list_display = ["code", "store", "name"]
    list_filter = ["store"]
    search_fields = ["code", "name"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "store", "price_minor", "currency", "active"]
    list_filter = ["store", "active"]
    search_fields = ["sku", "name"]
    readonly_fields = ["thumbnail"]
