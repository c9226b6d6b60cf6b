import json
import os

from shopapp.errors import StorageError


def load(path):
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        raise StorageError(f"cannot load {path}") from exc
    os.close(fd)
    return {}


def load_config(text):
    return json.loads(text)


def load_payload(text):
    data = json.loads(text)
    return data


def lookup(index, key):
    try:
        return index[key]
    except KeyError:
        raise LookupError(f"no record {key} in index of {len(index)} entries")  # noqa: B904 (context chain on purpose)
