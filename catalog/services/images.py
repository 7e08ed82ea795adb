"""Product images: checked with Pillow, stored under generated names, with a thumbnail."""

import io
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from django.core.files.base import ContentFile, File
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.models import Product
from infra.errors import LoupeError

# What we accept and how big. The pixel cap refuses decompression bombs before a single
# pixel is decoded (Pillow reads the size from the header).
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000
THUMBNAIL_SIZE = (96, 96)


class InvalidImage(LoupeError):
    code = "invalid_image"


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return IMAGE_FORMATS[self.format]


def image_check(*, image_file: File | IO[bytes]) -> CheckedImage:
    """Read an uploaded or opened file and make sure it is a whole image we accept.

    Refuses (InvalidImage, field `image`): files over IMAGE_MAX_BYTES, anything Pillow cannot
    identify, formats outside IMAGE_FORMATS, more than IMAGE_MAX_PIXELS pixels, and
    truncated or corrupt data. Writes nothing.
    """
    if hasattr(image_file, "seek"):
        image_file.seek(0)
    data = image_file.read(IMAGE_MAX_BYTES + 1)
    if len(data) > IMAGE_MAX_BYTES:
        raise InvalidImage(f"The image is larger than {IMAGE_MAX_BYTES // (1024 * 1024)} MB.", field="image")
    if not data:
        raise InvalidImage("The image file is empty.", field="image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height, fmt = image.width, image.height, image.format
                if fmt not in IMAGE_FORMATS:
                    raise InvalidImage(
                        f"{fmt} images are not accepted; use one of {', '.join(sorted(IMAGE_FORMATS))}.",
                        field="image",
                    )
                if width * height > IMAGE_MAX_PIXELS:
                    raise InvalidImage(
                        f"The image has {width}x{height} pixels, more than the {IMAGE_MAX_PIXELS} allowed.",
                        field="image",
                    )
                image.verify()
            # verify() leaves the image unusable; decoding once more catches truncated data.
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage("The image has too many pixels.", field="image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"The file is not a readable image ({exc.__class__.__name__}).", field="image") from None
    return CheckedImage(data=data, format=fmt, width=width, height=height)


def _thumbnail_jpeg(checked: CheckedImage) -> bytes:
    with Image.open(io.BytesIO(checked.data)) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail(THUMBNAIL_SIZE)
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        elif image.mode != "RGB":
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85, optimize=True)
        return out.getvalue()


@transaction.atomic
def product_set_image(*, product: Product, image_file: File | IO[bytes]) -> Product:
    """Give a saved product a new image and a ~96px JPEG thumbnail.

    The image is checked with `image_check` (InvalidImage otherwise) and stored through the
    default storage under a generated name (`products/<uuid>.<ext>`), never the uploader's.
    Locks the product row. The previous files are deleted only once the transaction commits;
    if anything fails after the new files were written, they are deleted again.
    """
    checked = image_check(image_file=image_file)
    thumbnail = _thumbnail_jpeg(checked)
    locked = Product.objects.select_for_update().get(pk=product.pk)
    old_names = [name for name in (locked.image.name, locked.thumbnail.name) if name]
    stem = uuid.uuid4().hex
    try:
        product.image.save(f"{stem}.{checked.extension}", ContentFile(checked.data), save=False)
        product.thumbnail.save(f"{stem}.jpg", ContentFile(thumbnail), save=False)
        product.save(update_fields=["image", "thumbnail"])
    except Exception:
        _delete_files(product, [product.image.name, product.thumbnail.name], keep=old_names)
        raise
    transaction.on_commit(lambda: _delete_files(product, old_names))
    return product


def _delete_files(product: Product, names: Iterable[str], keep: Iterable[str] = ()) -> None:
    storage = product.image.storage
    for name in set(names) - set(keep):
        if name:
            storage.delete(name)
