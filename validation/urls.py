from django.urls import path

from validation import dashboard, metrics_api, views

app_name = "validation"

urlpatterns: list = [
    path("supervise/charts.json", dashboard.charts_data, name="dashboard_charts"),
    path("supervise/calibration/", dashboard.calibration_page, name="calibration"),
    path("supervise/stores/<str:code>/policy/", dashboard.store_policy, name="store_policy"),
    path("supervise/stores/<str:code>/calibration/apply/", dashboard.calibration_apply, name="calibration_apply"),
    path("metrics", metrics_api.prometheus, name="prometheus"),
    path("visits/<uuid:visit_id>/dispute/", views.dispute_open, name="dispute_open"),
]
