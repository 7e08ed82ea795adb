from django.apps import AppConfig


class AnnotatorConfig(AppConfig):
    name = "annotator"
    verbose_name = "Annotation work"

    def ready(self) -> None:
        from annotator import snippet_kind
        from annotator.views import supervise

        snippet_kind.register()
        supervise.register_panels()
