"""shopapp: the small application whose real exceptions make the labelled traceback corpus."""
