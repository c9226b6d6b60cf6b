"""Servers, stand-ins and data shared by the tests (test modules never import each other)."""
