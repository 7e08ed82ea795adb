"""Product packshots for the task screens: for associates and supervisors of the product's
store (403 for any other signed-in role, 404 for another store's product or one without an
image), the login page for anonymous callers."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalog.models import Product
from catalog.services import product_set_image
from tests.annotator.clips import jpeg_bytes


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_product_image_is_served_to_the_store_only(s001, s002, alice, carol, bob, s001_integration, media):
    product = Product.objects.get(store=s001, sku="SKU-0001")
    product_set_image(product=product, image_file=SimpleUploadedFile("p.jpg", jpeg_bytes()))
    url = reverse("catalog:product_image", args=[product.pk])
    response = browser(alice).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert browser(carol).get(url).status_code == 200
    assert browser(bob).get(url).status_code == 404
    assert browser(s001_integration).get(url).status_code == 403  # no task screens, no packshots
    assert Client().get(url).status_code == 302
    bare = Product.objects.get(store=s001, sku="SKU-0002")
    assert browser(alice).get(reverse("catalog:product_image", args=[bare.pk])).status_code == 404
