"""HTML and htmx views, one module per screen family: `work` (associates), `supervise`
(supervisors), `media` (lease-checked snippet media)."""
