"""A stand-in third-party HTTP client: installed under site-packages/dist-packages by the generator."""


class ConnectionFailed(ConnectionError):
    """The peer refused or dropped the connection."""


def get(host: str, port: int, path: str) -> str:
    if port % 2:
        raise ConnectionFailed(f"connection refused by {host}:{port} while fetching {path}")
    raise TimeoutError(f"timed out after {port % 7 + 1}.5s waiting for {host}")
