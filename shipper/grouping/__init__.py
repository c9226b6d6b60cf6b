"""Error grouping: tracebacks and messages to stable group keys, standard library only.

The rule a reader must not break: nothing here imports the rest of the shipper, the analyzers or any
third-party package, so the handler, the analyzers and the CLI share one grouping engine.
"""
