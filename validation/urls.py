from django.urls import path

from validation import metrics_api
from validation.views import calibration, console, deliveries, disputes, gold, webhooks

app_name = "validation"

urlpatterns: list = [
    path("supervise/charts.json", console.charts_data, name="dashboard_charts"),
    path("supervise/calibration/", calibration.calibration_page, name="calibration"),
    path("supervise/stores/<str:code>/policy/", calibration.store_policy, name="store_policy"),
    path("supervise/stores/<str:code>/calibration/apply/", calibration.calibration_apply, name="calibration_apply"),
    path("metrics", metrics_api.prometheus, name="prometheus"),
    path("visits/<uuid:visit_id>/dispute/", disputes.dispute_open, name="dispute_open"),
    path("supervise/visits/<uuid:visit_id>/gold/", gold.gold_from_visit, name="gold_from_visit"),
    path("supervise/deliveries/", deliveries.delivery_list, name="deliveries"),
    path("supervise/deliveries/replay-failed/", deliveries.deliveries_replay, name="deliveries_replay_failed"),
    path("supervise/deliveries/<uuid:delivery_id>/", deliveries.delivery_detail, name="delivery"),
    path("supervise/deliveries/<uuid:delivery_id>/replay/", deliveries.delivery_replay_one, name="delivery_replay"),
    path("admin-ui/webhooks/", webhooks.webhook_list, name="webhooks"),
    path("admin-ui/webhooks/new/", webhooks.webhook_create, name="webhook_create"),
    path("admin-ui/webhooks/<uuid:endpoint_id>/active/", webhooks.webhook_toggle, name="webhook_toggle"),
]
