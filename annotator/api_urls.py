from django.urls import path

from annotator.api import snippets

urlpatterns: list = [
    path("snippets/", snippets.SnippetCreateApi.as_view(), name="api-snippet-create"),
    path("snippets/<str:snippet_id>/", snippets.SnippetDetailApi.as_view(), name="api-snippet-detail"),
]
