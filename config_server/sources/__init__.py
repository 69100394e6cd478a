"""Configuration backends: git (``sources.git``) and Vault, behind an async seam over blocking clients."""
