from django.urls import path

from annotator.views import datasets, media, task, work

app_name = "annotator"

urlpatterns = [
    path("work/", work.work_home, name="work"),
    path("work/claim/", task.claim, name="claim"),
    path("work/queues/<uuid:queue_id>/claim/", task.claim, name="claim_queue"),
    path("work/tasks/<uuid:task_id>/", task.task, name="task"),
    path("work/tasks/<uuid:task_id>/submit/", task.submit, name="submit"),
    path("work/tasks/<uuid:task_id>/heartbeat/", task.heartbeat, name="heartbeat"),
    path("work/tasks/<uuid:task_id>/release/", task.release, name="release"),
    path("work/products/", task.product_search, name="product_search"),
    path("work/products/<int:product_id>/image", task.product_image, name="product_image"),
    path("supervise/", work.supervise, name="supervise"),
    path("media/snippets/<uuid:snippet_id>/video", media.snippet_video, name="snippet_video"),
    path("media/snippets/<uuid:snippet_id>/poster", media.snippet_poster, name="snippet_poster"),
    path("media/snippets/<uuid:snippet_id>/thumbnail", media.snippet_thumbnail, name="snippet_thumbnail"),
    path("datasets/", datasets.datasets, name="datasets"),
    path("datasets/new/", datasets.dataset_new, name="dataset_new"),
    path("datasets/count/", datasets.dataset_count, name="dataset_count"),
    path("datasets/<uuid:dataset_id>/row/", datasets.dataset_row, name="dataset_row"),
    path("datasets/<uuid:dataset_id>/retry/", datasets.dataset_retry_view, name="dataset_retry"),
]
