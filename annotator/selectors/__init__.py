"""Reads of the annotator app for pages and dashboards, one module per topic; no writes here.
Import from the topic module:

- `queues`: which queues a user works from or supervises, their summaries (depth, live
  leases, deadlines), `sla_state`, a queue's open tasks, depth now and over time.
- `work`: an associate's own work (the slot they hold, the likely next tasks, their day).
- `console`: the console's live figures ("who holds what", throughput) and its cache.
- `annotations`: accepted annotations of a window, the latest ones for review.
- `associates`: the associates page's figures per associate.
"""
