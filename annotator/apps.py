from django.apps import AppConfig


class AnnotatorConfig(AppConfig):
    name = "annotator"
    verbose_name = "Annotation work"

    def ready(self) -> None:
        from annotator import snippet_kind

        snippet_kind.register()
