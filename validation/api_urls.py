from django.urls import path

from validation import api, api_policy, api_privacy
from validation.metrics_api import MetricsApi

urlpatterns = [
    path("visits/", api.VisitIngestApi.as_view(), name="api-visit-ingest"),
    path("visits/bulk/", api.VisitBulkIngestApi.as_view(), name="api-visit-bulk"),
    path("visits/<str:visit_id>/", api.VisitDetailApi.as_view(), name="api-visit-detail"),
    path("visits/<str:visit_id>/disputes/", api.VisitDisputeApi.as_view(), name="api-visit-dispute"),
    path("receipts/<str:receipt_id>/", api.ReceiptDetailApi.as_view(), name="api-receipt-detail"),
    path("stores/<str:code>/policy/", api_policy.StorePolicyApi.as_view(), name="api-store-policy"),
    path("metrics/", MetricsApi.as_view(), name="api-metrics"),
    path("shoppers/erase/", api_privacy.ShopperEraseApi.as_view(), name="api-shopper-erase"),
    path("media-views/", api_privacy.MediaViewListApi.as_view(), name="api-media-views"),
]
