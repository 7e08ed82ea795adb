from django.apps import AppConfig


class ValidationConfig(AppConfig):
    name = "validation"
    verbose_name = "Visit validation"

    def ready(self) -> None:
        from validation import console, visit_kind

        visit_kind.register()
        console.register_panels()
