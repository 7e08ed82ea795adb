from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from catalog import views as catalog_views

api_v1 = [
    path("", include("annotator.api_urls")),
    path("", include("validation.api_urls")),
]

urlpatterns = [
    path("", catalog_views.home, name="home"),
    path("healthz", catalog_views.healthz, name="healthz"),
    path("readyz", catalog_views.readyz, name="readyz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include("annotator.urls")),
    path("", include("validation.urls")),
]
