"""HTML views of the catalog app, one module per topic: `home` (the signed-in home page),
`health` (liveness and readiness), `products` (packshots for the task screens)."""
