from django.urls import path

from annotator.views import media, work

app_name = "annotator"

urlpatterns = [
    path("work/", work.work_home, name="work"),
    path("work/claim/", work.claim, name="claim"),
    path("work/queues/<uuid:queue_id>/claim/", work.claim, name="claim_queue"),
    path("work/tasks/<uuid:task_id>/", work.task, name="task"),
    path("supervise/", work.supervise, name="supervise"),
    path("media/snippets/<uuid:snippet_id>/video", media.snippet_video, name="snippet_video"),
    path("media/snippets/<uuid:snippet_id>/poster", media.snippet_poster, name="snippet_poster"),
    path("media/snippets/<uuid:snippet_id>/thumbnail", media.snippet_thumbnail, name="snippet_thumbnail"),
]
