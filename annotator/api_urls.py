from django.urls import path

from annotator.api import associates, datasets, gold, labels, review, snippets, tasks

urlpatterns: list = [
    path("tasks/next/", tasks.TaskNextApi.as_view(), name="api-task-next"),
    path("tasks/lookahead/", tasks.TaskLookaheadApi.as_view(), name="api-task-lookahead"),
    path("tasks/<str:task_id>/heartbeat/", tasks.TaskHeartbeatApi.as_view(), name="api-task-heartbeat"),
    path("tasks/<str:task_id>/submit/", tasks.TaskSubmitApi.as_view(), name="api-task-submit"),
    path("tasks/<str:task_id>/release/", tasks.TaskReleaseApi.as_view(), name="api-task-release"),
    path("annotations/<str:annotation_id>/reject/", review.AnnotationRejectApi.as_view(), name="api-annotation-reject"),
    path("snippets/", snippets.SnippetCreateApi.as_view(), name="api-snippet-create"),
    path("snippets/<str:snippet_id>/", snippets.SnippetDetailApi.as_view(), name="api-snippet-detail"),
    path("associates/", associates.AssociateListApi.as_view(), name="api-associate-list"),
    path(
        "associates/<str:username>/reinstate/",
        associates.AssociateReinstateApi.as_view(),
        name="api-associate-reinstate",
    ),
    path("gold/snippets/", gold.GoldSnippetCreateApi.as_view(), name="api-gold-snippet-create"),
    path("labels/", labels.LabelListApi.as_view(), name="api-label-list"),
    path("datasets/", datasets.DatasetCreateApi.as_view(), name="api-dataset-create"),
    path("datasets/<str:dataset_id>/", datasets.DatasetDetailApi.as_view(), name="api-dataset-detail"),
    path("datasets/<str:dataset_id>/download/", datasets.DatasetDownloadApi.as_view(), name="api-dataset-download"),
    path("datasets/<str:dataset_id>/retry/", datasets.DatasetRetryApi.as_view(), name="api-dataset-retry"),
]
