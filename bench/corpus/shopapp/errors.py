class ShopError(Exception):
    """Root of the application's errors."""


class StorageError(ShopError):
    """A stored record cannot be read."""
