from django.urls import path

from annotator import views

app_name = "annotator"

urlpatterns = [
    path("work/", views.work_home, name="work"),
    path("supervise/", views.supervise, name="supervise"),
]
