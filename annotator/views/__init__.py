"""HTML and htmx views, one module per screen family: `work` (the associate's home), `task`
(claim, the task screens, submit, heartbeat, release, product search), `preview` (the likely
next task), `supervise` (the supervisor's console), `datasets` (datasets for supervisors and
ML users), `media` (lease-checked snippet media). Every view wears a `catalog.gates` gate."""
