"""HTML and htmx views of the validation app, one module per screen family: `console` (the
chart data of the supervisor's console), `calibration` (the calibration page, the store
policy form), `deliveries` (webhook deliveries and replay), `disputes` (a supervisor disputes
a receipt), `webhooks` (the superuser's webhook endpoints page). The console's panels are
`validation.console`."""
