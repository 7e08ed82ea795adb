from django.urls import path

from validation import views

app_name = "validation"

urlpatterns: list = [
    path("visits/<uuid:visit_id>/dispute/", views.dispute_open, name="dispute_open"),
]
