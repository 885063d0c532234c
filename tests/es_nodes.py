"""Test nodes of their own for the Elasticsearch fault tests (never the main node of `make test`).

`own_node(**spec)` starts a fresh node on the first free port from default_port()+11 on, and
holds a lock file for that port while the node runs, so two test runs on one machine (or a run
and a leftover node) never share a node or its data folder.
"""
from __future__ import annotations

import contextlib
import fcntl
import shutil
from typing import Iterator

from pipelines.services import elasticsearch as es_service

FIRST_OFFSET, LAST_OFFSET = 11, 90  # transport ports are +100: clear of the main node's


@contextlib.contextmanager
def own_node(**spec) -> Iterator[es_service.Node]:
    """A fresh node with NodeSpec fields `spec` on a free, locked port; stopped on exit."""
    base = es_service.default_port()
    locks = es_service.state_dir() / "test-locks"
    locks.mkdir(parents=True, exist_ok=True)
    for port in range(base + FIRST_OFFSET, base + LAST_OFFSET):
        handle = open(locks / f"{port}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        if es_service.port_in_use(port) or es_service.port_in_use(port + 100):
            handle.close()
            continue
        try:
            es_service.stop_node(port)  # a node of ours left by a killed run holds no port
            # A folder of its own: a secure node must not inherit a plain node's keystore.
            shutil.rmtree(es_service.node_folder(port), ignore_errors=True)
            yield es_service.start_node(es_service.NodeSpec(port=port, **spec), fresh=True)
        finally:
            es_service.stop_node(port)
            handle.close()
        return
    raise RuntimeError("no free port for a test Elasticsearch node")


def port_of(node: es_service.Node) -> int:
    return int(node.url.rsplit(":", 1)[1])
