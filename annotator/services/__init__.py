"""Every write of the annotator app that spans rows. One module per concern:

- `queues`: queues and enqueuing tasks (with their slots)
- `work`: claim, heartbeat, submit, release (the queue engine)
- `snippets`: video snippet intake
"""
