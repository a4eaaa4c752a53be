"""The one failure the pool reports itself: no connection to run a statement on."""


class DatabaseUnreachableError(Exception):
    """Connecting failed: refused, timed out, no free pooled connection, refused by the
    server (too many clients, starting up, bad password), or the connection was lost."""
