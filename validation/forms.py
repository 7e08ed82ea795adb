"""Forms of the webhook pages: the deliveries filter and the new endpoint. They validate input
only; the services decide."""

import datetime as dt

from django import forms
from django.utils import timezone

from validation.models import Receipt, WebhookDelivery, WebhookEndpoint


class DeliveryFilterForm(forms.Form):
    """The GET filters of the deliveries page. Every field is optional; a bad value is an error
    on the page, never a 500."""

    status = forms.ChoiceField(choices=[("", "any status"), *WebhookDelivery.Status.choices], required=False)
    endpoint = forms.ModelChoiceField(
        queryset=WebhookEndpoint.objects.all(), required=False, empty_label="any endpoint", to_field_name="pk"
    )
    type = forms.ChoiceField(choices=[("", "any type"), *Receipt.Kind.choices], required=False)
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data

    def apply(self, deliveries):
        """`deliveries` narrowed by the cleaned filters (call after `is_valid()`)."""
        data = self.cleaned_data
        if data.get("status"):
            deliveries = deliveries.filter(status=data["status"])
        if data.get("endpoint"):
            deliveries = deliveries.filter(endpoint=data["endpoint"])
        if data.get("type"):
            deliveries = deliveries.filter(event__type=data["type"])
        zone = timezone.get_current_timezone()
        if data.get("since"):
            deliveries = deliveries.filter(created_at__gte=dt.datetime.combine(data["since"], dt.time(), zone))
        if data.get("until"):
            end = dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time(), zone)
            deliveries = deliveries.filter(created_at__lt=end)
        return deliveries


class WebhookEndpointCreateForm(forms.Form):
    url = forms.URLField(max_length=2000, label="URL", assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=Receipt.Kind.choices, widget=forms.CheckboxSelectMultiple, label="Event types"
    )
