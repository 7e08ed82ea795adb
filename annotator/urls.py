from django.urls import path

from annotator.views import work

app_name = "annotator"

urlpatterns = [
    path("work/", work.work_home, name="work"),
    path("supervise/", work.supervise, name="supervise"),
]
