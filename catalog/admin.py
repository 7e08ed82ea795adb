from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.utils.html import format_html

from catalog.models import Camera, Product, Store, StoreAccess
from catalog.services import image_check, product_set_image
from infra.errors import LoupeError


class CameraInline(admin.TabularInline):
    model = Camera
    extra = 0


class StoreAccessInline(admin.TabularInline):
    model = StoreAccess
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["granted_at"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "currency", "timezone", "auto_accept_threshold", "sla_minutes", "audit_rate"]
    search_fields = ["code", "name"]
    inlines = [CameraInline, StoreAccessInline]


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    list_display = ["code", "store", "name"]
    list_filter = ["store"]
    search_fields = ["code", "name", "store__code"]
    list_select_related = ["store"]


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["store", "sku", "name", "price_minor", "currency", "image", "active"]

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            try:
                image_check(image_file=image)
            except LoupeError as exc:
                raise forms.ValidationError(exc.detail) from None
        return image


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ["sku", "name", "store", "price_minor", "currency", "active", "thumbnail_preview"]
    list_filter = ["store", "active"]
    search_fields = ["sku", "name"]
    list_select_related = ["store"]
    readonly_fields = ["thumbnail_preview"]

    @admin.display(description="thumbnail")
    def thumbnail_preview(self, product: Product) -> str:
        if not product.thumbnail:
            return "-"
        return format_html('<img src="{}" alt="" width="48">', product.thumbnail.url)

    def save_model(self, request, obj: Product, form, change: bool) -> None:
        # An upload goes through product_set_image (generated name, thumbnail), not the
        # model field's plain save under the uploader's file name.
        upload = form.cleaned_data.get("image") if "image" in form.changed_data else None
        if isinstance(upload, UploadedFile):
            previous = Product.objects.filter(pk=obj.pk).values_list("image", flat=True).first() if change else None
            obj.image = previous or ""
            super().save_model(request, obj, form, change)
            product_set_image(product=obj, image_file=upload)
            return
        if "image" in form.changed_data and not obj.image:
            obj.thumbnail = ""  # the image was cleared
        super().save_model(request, obj, form, change)
