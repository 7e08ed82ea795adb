"""Product packshots for the task screens. Catalog images, not visit media: associates and
supervisors granted the product's store may see them (404 for another store's product), with
no lease check and no audit record."""

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from catalog.access import stores_for_user
from catalog.gates import associate_or_supervisor_required
from catalog.models import Product


@require_safe
@associate_or_supervisor_required
def product_image(request: HttpRequest, product_id: int) -> HttpResponse:
    """A product's packshot thumbnail, for people working on its store's tasks."""
    product = get_object_or_404(Product, pk=product_id, store__in=stores_for_user(request.user))
    name = product.thumbnail.name or product.image.name
    if not name:
        raise Http404("This product has no image.")
    with default_storage.open(name, "rb") as f:
        data = f.read()
    content_type = "image/jpeg" if name.lower().endswith((".jpg", ".jpeg")) else _image_type(name)
    response = HttpResponse(data if request.method == "GET" else b"", content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _image_type(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower()
    return {"png": "image/png", "webp": "image/webp", "gif": "image/gif"}.get(extension, "application/octet-stream")
