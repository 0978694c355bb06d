"""The graph's shape (nodes and edges) is a reviewed decision: changing it means updating the snapshot."""

from __future__ import annotations

import os
from pathlib import Path

from agent.graph import build_graph

SNAPSHOT = Path(__file__).parent / "snapshots" / "graph_edges.txt"


def edge_list() -> str:
    graph = build_graph().get_graph()
    edges = sorted(f"{e.source} {'-.->' if e.conditional else '-->'} {e.target}" for e in graph.edges)
    return "\n".join([f"nodes: {' '.join(sorted(graph.nodes))}", *edges]) + "\n"


def test_graph_shape_matches_the_snapshot():
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(edge_list())
    assert edge_list() == SNAPSHOT.read_text(), "graph shape changed: review, then rerun with UPDATE_SNAPSHOTS=1"
