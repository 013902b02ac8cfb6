"""dramatiq actors, one module per domain.

Actor modules bind to the broker that is current when they are imported, so import them only
through :func:`workers.app.setup`, never directly before it.
"""
