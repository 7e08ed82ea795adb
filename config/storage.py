"""Production's static files storage: WhiteNoise's hashed, compressed files, plus hashed
names in the imports of Loupe's own ES modules.

The workbench's modules (static/js/workbench/) import each other by relative URL. Left
alone, a hashed main.js would import the unhashed dom.js, which WhiteNoise caches only
briefly, so a deploy could pair one release's module with another's. Django can rewrite
module imports, but only for every *.js file at once (`support_js_module_import_aggregation`),
and vendored files break that (django-htmx's extensions import a bare "htmx"); so the same
patterns apply to our modules only.
"""

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage

_, MODULE_IMPORT_PATTERNS = ManifestStaticFilesStorage._js_module_import_aggregation_patterns


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = (*CompressedManifestStaticFilesStorage.patterns, ("js/workbench/*.js", MODULE_IMPORT_PATTERNS))
