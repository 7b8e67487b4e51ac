"""Genealogy at scale: bulk import of a supply network with >= 1,000,000 links, then forward
and backward traces, against the same traversal in Python over in-memory dicts.

    .venv/bin/python -m bench.genealogy [--quick] [--pg] [--queries N]

The network (``bench.genealogy_network``): raw-material and packaging lots -> media, buffers,
bioreactor runs, purification -> formulated bulk -> filled vials (400 finished lots of 2,500
vials; ``--quick``: 40 of 500). "Links" are the material actuals (a lot or container consumed
or produced by a step). It is imported with ``Genealogy.import_bulk`` (one audit record for the
whole import) into a SQLite file in a temporary folder, or with ``--pg`` into a throwaway
PostgreSQL server (default settings; ``VACUUM ANALYZE`` after the import, as autovacuum would).

Then ``--queries`` forward traces of random raw-material and packaging lots to every container
they reached (target: p95 < 100 ms), and backward traces of random filled vials to their raw
materials, each timed end to end (SQL and building the result). The baseline is the same
traversal (same rules for lots and containers, vials that go nowhere collected rather than
visited) in Python over adjacency dicts held in memory; it also checks that both find the same
containers. Last, the recall scope (a path to every container) of the first 20 raw lots.
Absolute times on a shared machine are noisy; the ratio, measured in the same run, is what to
compare.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.genealogy_network import Network, build
from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.genealogy import Genealogy
from pharmatwin.gmp.genealogy_trace import Trace

TARGET_P95_S = 0.100
"""Forward trace of a raw-material lot to its finished containers (issue 8)."""
RECALLS = 20
"""Recall scopes timed (each builds a path to every container: no baseline, no target)."""


@dataclass
class Graph:
    """The network as dicts (``L:lot``, ``C:container`` keys) for the baseline."""

    consumers: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    producers: dict[str, list[str]] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    lot_of: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, net: Network) -> Graph:
        graph = cls()
        for container, lot, *_ in net.containers:
            graph.members.setdefault(f"L:{lot}", []).append(f"C:{container}")
            graph.lot_of[f"C:{container}"] = f"L:{lot}"
        for step, kind, ident, *_ in net.consumed:
            key = f"{'L' if kind == 'lot' else 'C'}:{ident}"
            graph.consumers.setdefault(key, []).append(step)
            graph.inputs.setdefault(step, []).append(key)
        for step, kind, ident, *_ in net.produced:
            key = f"{'L' if kind == 'lot' else 'C'}:{ident}"
            graph.producers.setdefault(key, []).append(step)
            graph.outputs.setdefault(step, []).append(key)
        return graph

    def ends(self) -> set[str]:
        """Containers that lead nowhere further: neither they nor their lot are consumed."""
        return {
            c
            for c, lot in self.lot_of.items()
            if c not in self.consumers and lot not in self.consumers
        }

    def trace(self, start: str, forward: bool, ends: set[str]) -> set[str]:
        """Keys reached from ``start`` (whole lot ``w``, container ``c``; a lot reached from
        its container ``l`` and a container from its lot ``m`` follow only material links).
        Forward, ``ends`` (containers leading nowhere) are collected, not visited: the same
        traversal as the SQL query."""
        via, then = (self.consumers, self.outputs) if forward else (self.producers, self.inputs)
        members, lot_of = self.members, self.lot_of
        if not forward:
            ends = set()
        first = (start, "w" if start[0] == "L" else "c")
        seen = {first}
        found: set[str] = set()
        queue = deque([first])
        push, pop = queue.append, queue.popleft
        while queue:
            key, mode = pop()
            for step in via.get(key, ()):
                for out in then[step]:
                    if out in ends:
                        found.add(out)
                        continue
                    item = (out, "w" if out[0] == "L" else "c")
                    if item not in seen:
                        seen.add(item)
                        push(item)
            if mode == "w":
                for container in members.get(key, ()):
                    if container in ends:
                        found.add(container)
                    elif (container, "m") not in seen:
                        seen.add((container, "m"))
                        push((container, "m"))
            elif mode == "c" and (lot_of[key], "l") not in seen:
                seen.add((lot_of[key], "l"))
                push((lot_of[key], "l"))
        return (found | {key for key, _ in seen}) - {start}


def percentiles(times: list[float]) -> tuple[float, float]:
    """p50 and p95 (s)."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def timed(run: Callable[[str], object], starts: list[str]) -> tuple[list[float], list[object]]:
    times, results = [], []
    for start in starts:
        begin = time.perf_counter()
        results.append(run(start))
        times.append(time.perf_counter() - begin)
    return times, results


def reached_containers(trace: Trace) -> set[str]:
    return {f"C:{c}" for group in trace.containers for c in group.ids}


def run_backend(url: str, net: Network, starts: tuple[list[str], list[str]]) -> dict[str, object]:
    """Import the network at ``url`` and time the traces; the figures of this backend."""
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        begin = time.perf_counter()
        summary = genealogy.import_bulk(
            net.data(), audit=audit, user="bench", reason="genealogy benchmark import"
        )
        imported = time.perf_counter() - begin
        if genealogy.dialect == "postgresql":
            _vacuum(url)
        raw, vials = starts
        for lot in raw[:5]:  # warm the caches
            genealogy.trace(lot_id=lot, direction="forward")
        forward, traces = timed(lambda lot: genealogy.trace(lot_id=lot, direction="forward"), raw)
        backward, _ = timed(
            lambda vial: genealogy.trace(container_id=vial, direction="backward"), vials
        )
        recalls, _ = timed(genealogy.recall, raw[:RECALLS])
        found = [reached_containers(t) for t in traces if isinstance(t, Trace)]
        return {
            "recall": recalls,
            "import_s": imported,
            "links": summary.counts["links"],
            "forward": forward,
            "backward": backward,
            "found": found,
            "audit_records": audit.count(),
        }


def _vacuum(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE gen_nodes, gen_links, gen_steps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 finished lots of 500 vials")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (throwaway server)")
    parser.add_argument("--queries", type=int, default=200, help="traces per direction")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    finished, vials = (40, 500) if args.quick else (400, 2500)
    begin = time.perf_counter()
    net = build(finished, vials, args.seed)
    generated = time.perf_counter() - begin
    rng = random.Random(args.seed)
    starts = (
        [rng.choice(net.raw_lots) for _ in range(args.queries)],
        [rng.choice(net.finished_containers) for _ in range(args.queries)],
    )
    graph = Graph.of(net)
    ends = graph.ends()
    py_forward, py_found = timed(lambda lot: graph.trace(f"L:{lot}", True, ends), starts[0])
    py_backward, _ = timed(lambda vial: graph.trace(f"C:{vial}", False, ends), starts[1])
    with tempfile.TemporaryDirectory(prefix="pharmatwin-bench-") as folder:
        if args.pg:
            from pharmatwin.historian.pgserver import running_server

            with running_server() as server:
                figures = run_backend(server.url, net, starts)
            backend = "PostgreSQL"
        else:
            figures = run_backend(f"sqlite:///{Path(folder) / 'genealogy.db'}", net, starts)
            backend = "SQLite"
    report(args, net, generated, figures, backend, (py_forward, py_backward, py_found))


def report(  # noqa: PLR0917 (one caller)
    args: argparse.Namespace,
    net: Network,
    generated: float,
    figures: dict[str, object],
    backend: str,
    baseline: tuple[list[float], list[float], list[object]],
) -> None:
    py_forward, py_backward, py_found = baseline
    found = figures["found"]
    assert isinstance(found, list)
    containers = [
        len({k for k in keys if isinstance(k, str) and k.startswith("C:")})
        for keys in py_found
        if isinstance(keys, set)
    ]
    same = all(
        isinstance(b, set) and a == {k for k in b if k.startswith("C:")}
        for a, b in zip(found, py_found, strict=True)
    )
    links = figures["links"]
    print(
        f"network: {len(net.lots):,} lots, {len(net.containers):,} containers, "
        f"{len(net.steps):,} steps, {links:,} links (generated in {generated:.1f} s)"
    )
    print(
        f"bulk import into {backend}: {figures['import_s']:.1f} s "
        f"({figures['audit_records']} audit record)"
    )
    print(
        f"containers per forward trace: median {statistics.median(containers):,.0f}, "
        f"max {max(containers):,}; same containers as the baseline: {same}\n"
    )
    print(f"{'trace (' + str(args.queries) + ' each)':<44}{'p50 ms':>9}{'p95 ms':>9}{'x dict':>9}")
    rows = [
        ("forward, raw lot -> containers: dicts", py_forward, py_forward),
        (f"forward, raw lot -> containers: {backend}", figures["forward"], py_forward),
        ("backward, vial -> raw materials: dicts", py_backward, py_backward),
        (f"backward, vial -> raw materials: {backend}", figures["backward"], py_backward),
    ]
    for name, times, base in rows:
        assert isinstance(times, list)
        p50, p95 = percentiles(times)
        ratio = p50 / percentiles(base)[0]
        print(f"{name:<44}{p50 * 1e3:>9.1f}{p95 * 1e3:>9.1f}{ratio:>8.1f}x")
    recall = figures["recall"]
    assert isinstance(recall, list)
    p50, p95 = percentiles(recall)
    print(
        f"{f'recall with paths ({len(recall)}): {backend}':<44}{p50 * 1e3:>9.1f}{p95 * 1e3:>9.1f}"
    )
    p95 = percentiles(figures["forward"])[1]  # type: ignore[arg-type]
    verdict = "met" if p95 < TARGET_P95_S else "NOT met"
    print(
        f"\ntarget: forward trace p95 < {TARGET_P95_S * 1e3:.0f} ms -> {p95 * 1e3:.1f} ms "
        f"({verdict})"
    )


if __name__ == "__main__":
    main()
