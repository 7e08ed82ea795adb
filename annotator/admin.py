"""Admin for the work engine. Tasks, slots, annotations and the media audit log are written
only by services (they keep copies and invariants in step), so the admin shows them
read-only; queues and their members are the one thing edited here."""

from django.contrib import admin

from annotator.models import Annotation, MediaView, Queue, QueueMembership, Slot, Snippet, Task, TaskExclusion


class ReadOnlyAdminMixin:
    """View-only: no add, no change. Deleting stays with superusers for clean-ups."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


class QueueMembershipInline(admin.TabularInline):
    model = QueueMembership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["added_at"]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "store", "kind", "is_paused", "overlap", "lease_seconds", "created_at"]
    list_filter = ["store", "kind", "is_paused"]
    search_fields = ["name", "store__code"]
    list_select_related = ["store"]
    inlines = [QueueMembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # A queue's store and kind are fixed once tasks may point at it.
        return ["store", "kind", "created_at"] if obj else ["created_at"]


class SlotInline(ReadOnlyInline):
    model = Slot
    fields = ["index", "state", "holder", "lease_token", "leased_at", "lease_expires_at", "active_seconds"]
    readonly_fields = fields
    show_change_link = False


class TaskExclusionInline(ReadOnlyInline):
    model = TaskExclusion
    fields = ["user", "cause", "reason", "created_at"]
    readonly_fields = fields
    show_change_link = False


class AnnotationInline(ReadOnlyInline):
    model = Annotation
    fields = ["associate", "kind", "submission_id", "active_seconds", "created_at"]
    readonly_fields = fields


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "store", "queue", "purpose", "priority", "due_at", "status", "annotations_done"]
    list_filter = ["status", "kind", "purpose", "store"]
    list_select_related = ["store", "queue"]
    date_hierarchy = "due_at"
    ordering = ["-created_at"]
    readonly_fields = ["snippets"]
    inlines = [SlotInline, TaskExclusionInline, AnnotationInline]


@admin.register(Snippet)
class SnippetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["external_id", "store", "camera", "started_at", "status", "duration_s", "width", "height", "codec"]
    list_filter = ["status", "store", "codec"]
    search_fields = ["external_id"]
    list_select_related = ["store", "camera"]
    date_hierarchy = "started_at"


@admin.register(Annotation)
class AnnotationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "associate", "task", "active_seconds", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["associate", "task"]
    search_fields = ["associate__username"]
    date_hierarchy = "created_at"


@admin.register(MediaView)
class MediaViewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The media audit log: never edited, never deleted."""

    list_display = ["viewed_at", "user", "snippet", "what", "task"]
    list_filter = ["what"]
    list_select_related = ["user", "snippet"]
    search_fields = ["user__username"]
    date_hierarchy = "viewed_at"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
