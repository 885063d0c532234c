"""Elasticsearch benchmark: `vigie replay --es-url` against a bare `parallel_bulk` loop.

On a fresh node of its own (default_port()+10, the same 512 MiB heap as `make es-start`), with
the same index templates, indexes the same BENCH_LINES (default 1,000,000) generated Apache
combined lines twice, each run in its own process:

  1. `vigie replay FILE --out DIR --no-detect --no-enrich --es-url URL`: read, parse, Parquet, and index
     (wall time of the whole command, start-up included);
  2. `elasticsearch.helpers.parallel_bulk` (4 threads, chunks of 500, its defaults) over the very
     documents of run 1's Parquet archive, built as dicts in memory before the clock starts: the
     practical ceiling of one local node.

Before both, 100,000 documents warm the fresh node up (untimed). Indices are deleted between the runs; each run's document count is checked with `_count` after
a refresh. Prints events/s and the ratio (target: vigie at 80 % or more of the bare loop).
Environment: BENCH_LINES, BENCH_DIR (default bench/out). Do not run it beside the test suite:
the machine has two cores.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from measure import PY, VIGIE  # noqa: E402


def bare(archive: str, url: str, limit: int | None = None) -> None:
    """Child process: build the documents of `archive` (the first `limit`), then time
    parallel_bulk over them."""
    from elasticsearch import Elasticsearch, helpers

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from pipelines import indices

    actions = []
    for path in sorted(Path(archive, "events").rglob("*.parquet")):
        table = pq.ParquetFile(path).read()
        for i, field in enumerate(table.schema):
            if pa.types.is_timestamp(field.type):
                table = table.set_column(i, field.name, pc.strftime(table[field.name], format="%Y-%m-%dT%H:%M:%SZ"))
        for row in table.to_pylist():
            actions.append({"_index": indices.events_index(row["event.dataset"]), "_id": row["event.id"],
                            "_source": {k: v for k, v in row.items() if v is not None}})
    actions = actions[:limit] if limit else actions
    client = Elasticsearch(url, request_timeout=120)
    started = time.perf_counter()
    ok = failed = 0
    for success, _item in helpers.parallel_bulk(client, actions, raise_on_error=False):
        ok += success
        failed += not success
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "indexed": ok, "failed": failed}))


def count(client) -> int:
    client.indices.refresh(index="vigie-events-*")
    return client.count(index="vigie-events-*")["count"]


def main() -> None:
    from inputs import bench_input
    from measure import measure
    from pipelines.services import elasticsearch as es_service
    from pipelines.sinks import es_cluster

    lines, work, source = bench_input()
    for folder in ("es-warmup", "es-vigie"):
        subprocess.run(["rm", "-rf", str(work / folder)], check=True)
    port = es_service.default_port() + 10
    print(f"starting a fresh Elasticsearch {es_service.ES_VERSION} on port {port} ...", flush=True)
    es_service.stop_node(port)
    node = es_service.start_node(es_service.NodeSpec(port=port), fresh=True)
    try:
        settings = es_cluster.settings_from(node.url)
        client = es_cluster.connect(settings)
        es_cluster.install_templates(client)
        # Warm-up (untimed): the node's JIT and caches, so that neither run pays for a cold node.
        print("warming the node up (100,000 documents, untimed) ...", flush=True)
        measure([VIGIE, "replay", str(source), "--out", str(work / "es-warmup"), "--no-detect", "--no-enrich"])
        subprocess.run([PY, __file__, "--bare", str(work / "es-warmup"), node.url, "100000"],
                       capture_output=True, text=True, check=True)
        client.indices.delete(index="vigie-*", ignore_unavailable=True, allow_no_indices=True)
        print("running vigie replay --no-detect --es-url ...", flush=True)
        vigie = measure([VIGIE, "replay", str(source), "--out", str(work / "es-vigie"), "--no-detect", "--no-enrich",
                         "--es-url", node.url])
        summary = json.loads((work / "es-vigie" / "summary.json").read_text())
        total = summary["datasets"]["total"]
        vigie_count = count(client)
        client.indices.delete(index="vigie-*", ignore_unavailable=True, allow_no_indices=True)
        es_cluster.install_templates(client)
        print("running the bare parallel_bulk loop over the same documents ...", flush=True)
        done = subprocess.run([PY, __file__, "--bare", str(work / "es-vigie"), node.url],
                              capture_output=True, text=True, check=True)
        loop = json.loads(done.stdout.strip().splitlines()[-1])
        loop_count = count(client)
    finally:
        es_service.stop_node(port)
    vigie_rate = total["events"] / vigie["seconds"]
    loop_rate = loop["indexed"] / loop["seconds"]
    print(f"\n{lines:,} lines, {os.cpu_count()} cores, Elasticsearch {es_service.ES_VERSION} "
          f"(one node, 512 MiB heap)")
    print(f"{'run':<52}{'indexed':>10}{'in index':>10}{'seconds':>9}{'events/s':>10}{'peak MiB':>10}")
    print(f"{'vigie replay --no-detect --no-enrich --es-url':<52}{total['documents_indexed']:>10,}"
          f"{vigie_count:>10,}{vigie['seconds']:>9.1f}{vigie_rate:>10,.0f}{vigie['peak_mib']:>10,.0f}")
    print(f"{'bare helpers.parallel_bulk (documents prebuilt)':<52}{loop['indexed']:>10,}"
          f"{loop_count:>10,}{loop['seconds']:>9.1f}{loop_rate:>10,.0f}{'':>10}")
    print(f"\nvigie / bare loop = {vigie_rate / loop_rate:.0%} (target 80 %); retries {total['index_retries']:,}, "
          f"dead-lettered {total['documents_dead_lettered']:,} / failed {loop['failed']:,}; "
          f"counts {'equal' if vigie_count == loop_count == total['events'] else 'DIFFER'}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--bare":
        bare(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)
    else:
        main()
