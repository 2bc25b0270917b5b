"""Side-by-side reporting: every benchmark records its best time against the audio it processed.

At the end of the session each group measured is saved as ``benchmarks/results/groups/<group>.json`` and
``benchmarks/results/report.md`` is rebuilt from every saved group (and printed): per group, each engine's
best time, its x realtime, and its speed relative to mixdown measured in the same run. A partial run
refreshes only the groups it measured.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

RESULTS = Path(__file__).parent / "results"
GROUPS = RESULTS / "groups"


class PeerReport:
    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[str, float, float, str]]] = defaultdict(list)

    def record(self, group: str, engine: str, seconds: float, audio_seconds: float, note: str = "") -> None:
        self.rows[group].append((engine, seconds, audio_seconds, note))

    def from_benchmark(self, benchmark, group: str, engine: str, audio_seconds: float, note: str = "") -> float:
        best = benchmark.stats.stats.min
        benchmark.extra_info.update({"x_realtime": audio_seconds / best, "engine": engine})
        self.record(group, engine, best, audio_seconds, note)
        return best

    def save(self) -> None:
        GROUPS.mkdir(parents=True, exist_ok=True)
        for group, rows in self.rows.items():
            slug = re.sub(r"[^a-z0-9]+", "-", group.lower()).strip("-")
            (GROUPS / f"{slug}.json").write_text(json.dumps({"group": group, "rows": rows}, indent=1) + "\n")

    @staticmethod
    def saved() -> dict[str, list]:
        return {data["group"]: data["rows"]
                for data in (json.loads(path.read_text()) for path in sorted(GROUPS.glob("*.json")))}

    @staticmethod
    def markdown(groups: dict[str, list]) -> str:
        lines = ["# mixdown benchmarks", ""]
        for group, rows in sorted(groups.items()):
            reference = next((s for e, s, _, _ in rows if e.startswith("mixdown")), None)
            lines += [f"## {group}", "", "| engine | best time (s) | x realtime | mixdown is N x faster | note |",
                      "|---|---:|---:|---:|---|"]
            for engine, seconds, audio, note in rows:
                ratio = f"{seconds / reference:.1f}" if reference else "-"
                realtime = f"{audio / seconds:,.0f}" if audio else "-"
                lines.append(f"| {engine} | {seconds:.4f} | {realtime} | {ratio} | {note} |")
            lines.append("")
        return "\n".join(lines)


_REPORT = PeerReport()


@pytest.fixture(scope="session")
def peer_report() -> PeerReport:
    return _REPORT


def pytest_sessionfinish(session, exitstatus) -> None:
    if not _REPORT.rows:
        return
    _REPORT.save()
    text = PeerReport.markdown(PeerReport.saved())
    (RESULTS / "report.md").write_text(text)
    print("\n" + PeerReport.markdown(_REPORT.rows))
