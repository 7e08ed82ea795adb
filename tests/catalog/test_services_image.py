import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.services import InvalidImage, image_check, product_set_image
from catalog.services import images as services
from tests.factories import ProductFactory
from tests.images import image_bytes, png_claiming_size, stored_files


@pytest.fixture
def product(db):
    return ProductFactory(sku="SKU-IMG", name="Sparkling water")


def upload(data: bytes, name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def test_set_image_stores_it_under_a_generated_name_with_a_96px_jpeg_thumbnail(product, media):
    product_set_image(product=product, image_file=upload(image_bytes((400, 200)), "../../evil name.png"))

    product.refresh_from_db()
    assert product.image.name.startswith("products/")
    assert product.image.name.endswith(".png")
    assert "evil" not in product.image.name
    assert product.thumbnail.name.startswith("products/thumbs/")
    with Image.open(product.thumbnail.path) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) == 96
        assert thumb.size == (96, 48)
    assert stored_files(media) == sorted([product.image.name, product.thumbnail.name])


def test_a_transparent_png_gets_a_flat_rgb_thumbnail(product, media):
    product_set_image(product=product, image_file=upload(image_bytes((64, 64), mode="RGBA", color=(0, 0, 0, 0))))

    with Image.open(product.thumbnail.path) as thumb:
        assert thumb.mode == "RGB"
        assert thumb.getpixel((10, 10)) == (255, 255, 255)


def test_jpeg_and_webp_are_accepted(product, media):
    for fmt, ext in (("JPEG", ".jpg"), ("WEBP", ".webp")):
        product_set_image(product=product, image_file=io.BytesIO(image_bytes(fmt=fmt)))
        assert product.image.name.endswith(ext)


def test_a_text_file_is_refused_and_nothing_is_stored(product, media):
    with pytest.raises(InvalidImage, match="not a readable image"):
        product_set_image(product=product, image_file=upload(b"sku,name\nnot,an image\n", "catalog.png"))

    product.refresh_from_db()
    assert not product.image
    assert not product.thumbnail
    assert stored_files(media) == []


def test_an_empty_file_is_refused(product, media):
    with pytest.raises(InvalidImage, match="empty"):
        product_set_image(product=product, image_file=upload(b""))


def test_a_truncated_image_is_refused(product, media):
    data = image_bytes((200, 200), fmt="JPEG")
    with pytest.raises(InvalidImage):
        product_set_image(product=product, image_file=upload(data[: len(data) // 2], "half.jpg"))
    assert stored_files(media) == []


def test_a_header_claiming_a_huge_image_is_refused_before_decoding(product, media):
    bomb = png_claiming_size(50_000, 50_000)
    assert len(bomb) < 100

    with pytest.raises(InvalidImage, match="pixels"):
        product_set_image(product=product, image_file=upload(bomb))
    assert stored_files(media) == []


def test_the_pixel_cap_applies_below_pillows_own_limit(product, media, monkeypatch):
    monkeypatch.setattr(services, "IMAGE_MAX_PIXELS", 100 * 100)

    with pytest.raises(InvalidImage, match="101x100"):
        image_check(image_file=io.BytesIO(image_bytes((101, 100))))
    image_check(image_file=io.BytesIO(image_bytes((100, 100))))


def test_a_file_over_the_byte_cap_is_refused(product, media, monkeypatch):
    monkeypatch.setattr(services, "IMAGE_MAX_BYTES", 100)

    with pytest.raises(InvalidImage, match="larger than"):
        image_check(image_file=io.BytesIO(image_bytes((50, 50), fmt="BMP")))


def test_formats_outside_the_accepted_list_are_refused(product, media):
    with pytest.raises(InvalidImage, match="BMP images are not accepted"):
        product_set_image(product=product, image_file=upload(image_bytes(fmt="BMP"), "photo.bmp"))


def test_a_new_image_replaces_the_old_files_once_committed(product, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product_set_image(product=product, image_file=upload(image_bytes(color="red")))
    first = [product.image.name, product.thumbnail.name]

    with django_capture_on_commit_callbacks(execute=True):
        product_set_image(product=product, image_file=upload(image_bytes(color="blue")))

    assert product.image.name not in first
    assert stored_files(media) == sorted([product.image.name, product.thumbnail.name])
