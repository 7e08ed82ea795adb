from django.urls import path

from validation import dashboard, deliveries, metrics_api, views, webhook_admin

app_name = "validation"

urlpatterns: list = [
    path("supervise/charts.json", dashboard.charts_data, name="dashboard_charts"),
    path("supervise/calibration/", dashboard.calibration_page, name="calibration"),
    path("supervise/stores/<str:code>/policy/", dashboard.store_policy, name="store_policy"),
    path("supervise/stores/<str:code>/calibration/apply/", dashboard.calibration_apply, name="calibration_apply"),
    path("metrics", metrics_api.prometheus, name="prometheus"),
    path("visits/<uuid:visit_id>/dispute/", views.dispute_open, name="dispute_open"),
    path("supervise/deliveries/", deliveries.delivery_list, name="deliveries"),
    path("supervise/deliveries/replay-failed/", deliveries.deliveries_replay, name="deliveries_replay_failed"),
    path("supervise/deliveries/<uuid:delivery_id>/", deliveries.delivery_detail, name="delivery"),
    path("supervise/deliveries/<uuid:delivery_id>/replay/", deliveries.delivery_replay_one, name="delivery_replay"),
    path("admin-ui/webhooks/", webhook_admin.webhook_list, name="webhooks"),
    path("admin-ui/webhooks/new/", webhook_admin.webhook_create, name="webhook_create"),
    path("admin-ui/webhooks/<uuid:endpoint_id>/active/", webhook_admin.webhook_toggle, name="webhook_toggle"),
]
