"""lab: the platform around the twin pipeline (policies, vault, hub, client, CLI)."""
