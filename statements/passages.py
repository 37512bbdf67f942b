"""Cut a release's text into runs for display, each run knowing which positions cover it.

Positions may overlap. The text is split at every start and end offset; a run
covered by one or more positions is shown as a highlighted passage, and the
first run of each position carries its anchor (``#p<n>``). The runs are plain
strings: templates escape them, nothing here builds HTML.
"""

from dataclasses import dataclass, field
from itertools import pairwise


@dataclass
class Run:
    text: str
    numbers: list[int] = field(default_factory=list)
    hit: bool = False  # a word the reader searched for
    starts: list = field(default_factory=list)  # the positions whose passage starts here

    @property
    def anchors(self):
        """The numbers of the positions that start here (each gets its #p<n> anchor)."""
        return [p.number for p in self.starts]

    @property
    def highlighted(self):
        return bool(self.numbers)


def runs(body, positions, hits=()):
    """Split ``body`` at the positions' offsets (and at search ``hits``, (start, end) pairs).

    ``positions`` need .start, .end and .number.
    """
    cuts = {0, len(body)}
    for position in positions:
        cuts.update((position.start, position.end))
    for start, end in hits:
        cuts.update((start, end))
    edges = sorted(c for c in cuts if 0 <= c <= len(body))
    ordered = sorted(positions, key=lambda p: (p.start, p.number))
    out = []
    for left, right in pairwise(edges):
        if left == right:
            continue
        covering = [p.number for p in ordered if p.start <= left and right <= p.end]
        starts = [p for p in ordered if p.start == left]
        hit = any(start <= left and right <= end for start, end in hits)
        out.append(Run(body[left:right], covering, hit, starts))
    return out
