"""Problems counted per code, keeping only the first few lines of each, so a huge bad file stays small."""

from __future__ import annotations

CAP = 100  # lines kept per code; the count goes on


class Tally:
    """code -> how many, and the first CAP (line, detail) pairs. Line numbers are 1-based."""

    __slots__ = ("counts", "first")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.first: dict[str, list[tuple[int, str]]] = {}

    def add(self, code: str, line: int, detail: str = "") -> None:
        n = self.counts.get(code, 0)
        self.counts[code] = n + 1
        if n < CAP:
            self.first.setdefault(code, []).append((line, detail))

    def merge(self, other: Tally, line_offset: int = 0) -> None:
        """Add ``other`` (whose lines are counted from ``line_offset``) after what is already here."""
        for code, n in other.counts.items():
            kept = self.first.setdefault(code, [])
            room = CAP - len(kept)
            if room > 0:
                kept.extend((line + line_offset, detail) for line, detail in other.first[code][:room])
            self.counts[code] = self.counts.get(code, 0) + n

    def count(self, code: str) -> int:
        return self.counts.get(code, 0)

    def lines(self, code: str) -> tuple[int, ...]:
        return tuple(line for line, _ in self.first.get(code, ()))
