"""CLI command groups; each module exposes ``register(app)`` and keeps heavy imports inside commands."""
