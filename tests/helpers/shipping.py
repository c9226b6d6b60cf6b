"""Helpers shared by the shipper's tests."""

from __future__ import annotations

import logging


def logger_only_to(name: str, handler: logging.Handler, level: int = logging.DEBUG) -> logging.Logger:
    """The logger `name`, sending its records to `handler` alone (not to the root's handlers)."""
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(level)
    return logger
