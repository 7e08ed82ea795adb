from django.apps import AppConfig


class ValidationConfig(AppConfig):
    name = "validation"
    verbose_name = "Visit validation"

    def ready(self) -> None:
        from validation import dashboard, visit_kind

        visit_kind.register()
        dashboard.register_panels()
