"""Dataset writers: JSONL, COCO (zip) and CSV. Schemas in docs/datasets.md.

Each writer takes the dataset's rows in position order (`rows.dataset_rows`) and a binary
file to write to, and returns the counts for the manifest. Writers are pure functions of
their rows: same dataset, same bytes (sorted JSON keys, no build time anywhere, fixed zip
timestamps), and they hold at most one batch of rows (COCO: one snippet's frames) in memory.
"""
