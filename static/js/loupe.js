// Loupe page behaviour (no inline scripts: CSP).
