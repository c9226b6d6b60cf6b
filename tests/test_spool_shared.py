"""Two unrelated programs that share one spool directory (one `spool_path` in both configurations),
and so one delivery agent, each have their records delivered once, to their own index prefix,
whichever program's agent sends them. Real programs, real node."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template
from shipper import schema

pytestmark = pytest.mark.es

_PROGRAM = """
import logging, os, sys, time
import shipper
url, prefix, spool, name, delivery = sys.argv[1:6]
handler = shipper.install(name, es_url=url, index_prefix=prefix, spool_path=spool, delivery=delivery,
                          idle_exit=2)
log = logging.getLogger(name)
for n in range(200):
    log.log(logging.ERROR if n % 50 == 0 else logging.WARNING, "%s record %d", name, n)
    print(f"EXPECT {name} record {n}", flush=True)
    if n % 40 == 0:
        time.sleep(0.05)
assert handler.wait_delivered(30)
"""


@pytest.mark.parametrize("delivery", ["process", "thread"])
@pytest.mark.parametrize("together", [True, False], ids=["at-once", "one-after-the-other"])
def test_programs_sharing_a_spool_directory_keep_their_own_index_prefix(
    together: bool, delivery: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Each program's records reach its own index prefix once (the second program's all went to the
    prefix of the first, whose agent served the directory)."""
    prefixes = {"billing": f"{index_prefix}a", "mailer": f"{index_prefix}b{uuid.uuid4().hex[:4]}"}
    for prefix in prefixes.values():
        install_template(es, prefix)
    spool = tmp_path / "spool"
    runs: dict[str, Any] = {}

    def run(name: str) -> None:
        args = [es_url, prefixes[name], str(spool), name, delivery]
        runs[name] = programs.run(_PROGRAM, tmp_path, args=args, timeout=90)

    threads = [threading.Thread(target=run, args=(name,)) for name in prefixes]
    try:
        for thread in threads:
            thread.start()
            if not together:
                thread.join()
        for thread in threads:
            thread.join()
        for name, prefix in prefixes.items():
            done = runs[name]
            assert done.returncode == 0, done.stderr
            want = programs.expected(done)
            found = programs.arrived(es, prefix, want, timeout=30)
            assert found == want, name
    finally:
        for prefix in prefixes.values():
            names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
            if names:
                es.indices.delete(index=",".join(names))
            es.options(ignore_status=404).indices.delete_index_template(name=schema.template_name(prefix))
