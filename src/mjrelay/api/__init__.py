"""HTTP: routes and wire models only; the work is done by services."""
