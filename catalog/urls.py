from django.urls import path

from catalog.views import products

app_name = "catalog"

urlpatterns = [
    # Under /work/ since the task screens are its only users.
    path("work/products/<int:product_id>/image", products.product_image, name="product_image"),
]
