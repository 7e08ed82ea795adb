from django.urls import path

from annotator.views import datasets, media, preview, supervise, task, work

app_name = "annotator"

urlpatterns = [
    path("work/", work.work_home, name="work"),
    path("work/rejections/<int:rejection_id>/read/", work.rejection_read, name="rejection_read"),
    path("work/claim/", task.claim, name="claim"),
    path("work/queues/<uuid:queue_id>/claim/", task.claim, name="claim_queue"),
    path("work/tasks/<uuid:task_id>/", task.task, name="task"),
    path("work/tasks/<uuid:task_id>/submit/", task.submit, name="submit"),
    path("work/tasks/<uuid:task_id>/heartbeat/", task.heartbeat, name="heartbeat"),
    path("work/tasks/<uuid:task_id>/release/", task.release, name="release"),
    path("work/tasks/<uuid:task_id>/next-preview/", preview.task_preview, name="task_preview"),
    path("work/products/", task.product_search, name="product_search"),
    path("supervise/", supervise.console_page, name="supervise"),
    path("supervise/panel/", supervise.panel, name="supervise_panel"),
    path("supervise/queues/<uuid:queue_id>/", supervise.queue_page, name="supervise_queue"),
    path("supervise/queues/<uuid:queue_id>/pause/", supervise.queue_pause, name="queue_pause"),
    path("supervise/queues/<uuid:queue_id>/members/", supervise.queue_member, name="queue_member"),
    path("supervise/tasks/<uuid:task_id>/priority/", supervise.task_priority, name="task_priority"),
    path("supervise/tasks/<uuid:task_id>/reassign/", supervise.task_reassign, name="task_reassign"),
    path("supervise/leases/<int:slot_id>/release/", supervise.lease_release, name="lease_release"),
    path("supervise/associates/", supervise.associates_page, name="associates"),
    path("supervise/associates/<str:username>/stores/", supervise.associate_store, name="associate_store"),
    path("supervise/associates/<str:username>/reinstate/", supervise.associate_reinstate, name="associate_reinstate"),
    path("supervise/annotations/<uuid:annotation_id>/", supervise.annotation_page, name="annotation"),
    path(
        "supervise/annotations/<uuid:annotation_id>/gold/", supervise.gold_from_annotation, name="gold_from_annotation"
    ),
    path("supervise/annotations/<uuid:annotation_id>/reject/", supervise.annotation_reject, name="annotation_reject"),
    path("media/snippets/<uuid:snippet_id>/video", media.snippet_video, name="snippet_video"),
    path("media/snippets/<uuid:snippet_id>/poster", media.snippet_poster, name="snippet_poster"),
    path("media/snippets/<uuid:snippet_id>/thumbnail", media.snippet_thumbnail, name="snippet_thumbnail"),
    path("datasets/", datasets.datasets, name="datasets"),
    path("datasets/new/", datasets.dataset_new, name="dataset_new"),
    path("datasets/count/", datasets.dataset_count, name="dataset_count"),
    path("datasets/<uuid:dataset_id>/row/", datasets.dataset_row, name="dataset_row"),
    path("datasets/<uuid:dataset_id>/retry/", datasets.dataset_retry_view, name="dataset_retry"),
]
