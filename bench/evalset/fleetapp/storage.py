"""Storage: files, archives, compression, subprocesses, sockets (standard library I/O)."""

from __future__ import annotations

import asyncio
import codecs
import configparser
import gzip
import io
import os
import pickle
import socket
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

from fleetapp.registry import bug


@bug("pathlib")
def read_blob(v: str) -> str:
    return Path(tempfile.gettempdir(), "fleetapp-missing", f"{v}.bin").read_text()


@bug("os")
def remove_blob(v: str) -> None:
    os.remove(os.path.join(tempfile.gettempdir(), "fleetapp-missing", v))


@bug("os")
def list_bucket(v: str) -> list[str]:
    return os.listdir(os.path.join(tempfile.gettempdir(), "fleetapp-no-bucket", v))


@bug("zipfile")
def open_archive(v: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(v.encode() * 3))


@bug("zipfile")
def archive_member(v: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.txt", "x")
    return zipfile.ZipFile(buffer).read(f"{v}.txt")


@bug("tarfile")
def open_tarball(v: str) -> tarfile.TarFile:
    return tarfile.open(fileobj=io.BytesIO(v.encode() * 50))


@bug("gzip")
def gunzip_blob(v: str) -> bytes:
    return gzip.decompress(v.encode())


@bug("zlib")
def inflate_blob(v: str) -> bytes:
    return zlib.decompress(v.encode())


@bug("pickle")
def load_snapshot(v: str) -> Any:
    return pickle.loads(v.encode())


@bug("pickle")
def save_snapshot(v: str) -> bytes:
    return pickle.dumps(lambda: v)


@bug("codecs")
def decode_blob(v: str) -> str:
    return (v.encode() + b"\xff\xfe").decode("utf-8")


@bug("codecs")
def blob_codec(v: str) -> Any:
    return codecs.lookup(f"{v}-encoding")


@bug("configparser")
def read_storage_config(v: str) -> str:
    parser = configparser.ConfigParser()
    parser.read_string("[storage]\nroot = /srv\n")
    return parser.get("storage", v)


@bug("configparser")
def parse_storage_config(v: str) -> None:
    configparser.ConfigParser().read_string(f"root = /srv/{v}\n")


@bug("subprocess")
def run_backup(v: str) -> None:
    subprocess.run([sys.executable, "-c", "import sys; sys.exit(3)", v], check=True)


@bug("subprocess")
def run_restore(v: str) -> None:
    subprocess.run(["fleetapp-no-such-tool", v], check=True)


@bug("subprocess")
def run_compaction(v: str) -> None:
    subprocess.run([sys.executable, "-c", "import time; time.sleep(5)", v], timeout=0.05)


@bug("subprocess")
def backup_output(v: str) -> bytes:
    return subprocess.check_output(["sh", "-c", f"exit 2 # {v}"])


@bug("socket")
def connect_replica(v: str) -> None:
    with socket.create_connection(("127.0.0.1", 9), timeout=1):
        pass


@bug("socket")
def resolve_replica(v: str) -> Any:
    return socket.getaddrinfo(f"{v}.invalid", 80)


@bug("asyncio")
def sync_replicas(v: str) -> None:
    async def fetch() -> None:
        await asyncio.sleep(1)

    async def main() -> None:
        await asyncio.wait_for(fetch(), timeout=0.01)

    asyncio.run(main())


@bug("asyncio")
def replica_queue(v: str) -> Any:
    queue: asyncio.Queue[str] = asyncio.Queue()
    return queue.get_nowait()


@bug("builtins")
def blob_size(v: str) -> int:
    with open(os.devnull) as handle:
        handle.close()
        return len(handle.read())
