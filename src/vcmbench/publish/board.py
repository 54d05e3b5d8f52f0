"""One leaderboard section per (suite, dataset): every number the tables and plots show.

Gaps come from ``vcmbench.report`` (recomputed from bits and accuracy); literature points are
measured against the same bound as the suite's records, or against the uniform K-class bound
(paper eq. 4) when no record of their suite is published.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from statistics import fmean

from vcmbench.api.record import ResultRecord
from vcmbench.errors import VcmbenchError
from vcmbench.publish.bdrate import BdRate, bd_eligible, bd_matrix
from vcmbench.publish.literature import LiteratureEntry, ReportedPoint
from vcmbench.publish.records import LoadedRecord, PublishError
from vcmbench.report.gaps import PointGap, bound_prior, bound_uniform, gaps_at_levels, point_gaps
from vcmbench.report.hull import bits_on_hull, lower_convex_hull
from vcmbench.report.show import DEFAULT_LEVELS


@dataclass(frozen=True)
class LevelCell:
    accuracy: float
    bits_per_sample: float | None  # None: the curve never reaches this accuracy
    gap_bits: float | None


@dataclass(frozen=True)
class Ranked:
    """A codec (or a reported curve) at the suite's accuracy levels."""

    name: str
    granularity: str
    reported: LiteratureEntry | None  # set for literature curves: they get no rank
    cells: tuple[LevelCell, ...]
    rank: int | None = None

    @property
    def reached(self) -> int:
        return sum(c.gap_bits is not None for c in self.cells)

    @property
    def mean_gap(self) -> float | None:
        gaps = [c.gap_bits for c in self.cells if c.gap_bits is not None]
        return fmean(gaps) if gaps else None

    def sort_key(self) -> tuple[int, float, str]:
        mean = self.mean_gap
        return (-self.reached, float("inf") if mean is None else mean, self.name)


@dataclass(frozen=True)
class ReportedGap:
    entry: LiteratureEntry
    point: ReportedPoint
    bound_bits_uniform: float | None  # None for mAP: no rate-accuracy bound applies
    bound_bits: float | None  # the board's bound at this accuracy
    gap_bits: float | None
    gap_ratio: float | None


@dataclass
class Board:
    suite: str
    dataset_id: str
    num_classes: int | None
    levels: tuple[float, ...]
    prior_counts: tuple[int, ...] | None  # None: uniform over num_classes (no records of this suite)
    records: list[LoadedRecord] = field(default_factory=list)
    points: list[PointGap] = field(default_factory=list)
    ranking: list[Ranked] = field(default_factory=list)
    bd_rates: list[BdRate] = field(default_factory=list)
    bd_left_out: list[str] = field(default_factory=list)  # curves with fewer than two usable hull points
    literature: list[LiteratureEntry] = field(default_factory=list)
    reported: list[ReportedGap] = field(default_factory=list)
    failed: list[LoadedRecord] = field(default_factory=list)
    levels_from: str = ""
    slug: str = ""  # file-name stem of its plots: the suite, plus the dataset when a suite has several

    @property
    def first(self) -> ResultRecord | None:
        return self.records[0].record if self.records else None

    @property
    def has_bound(self) -> bool:
        return self.num_classes is not None

    @property
    def bound_label(self) -> str:
        if self.prior_counts is None:
            return f"uniform prior, K={self.num_classes} (paper eq. 4)"
        return f"label prior of the {sum(self.prior_counts)} test samples, K={self.num_classes}"

    def bound(self, accuracy: float) -> float:
        if self.prior_counts is None:
            return bound_uniform(accuracy, self.num_classes)
        return bound_prior(accuracy, self.prior_counts)


def suite_levels(suite: str) -> tuple[tuple[float, ...], str] | None:
    """The accuracy levels the suite's YAML names, if that suite file can be found."""
    from vcmbench.pipeline.config import load_suite

    try:
        config = load_suite(suite)
    except (VcmbenchError, OSError):
        return None
    if not config.accuracy_levels:
        return None
    where = config.path.name if config.path else suite
    return tuple(config.accuracy_levels), f"benchmarks/{where}"


def build_boards(
    loaded: Sequence[LoadedRecord],
    literature: Sequence[LiteratureEntry] = (),
    levels: Sequence[float] | None = None,
    levels_of: Callable[[str], tuple[tuple[float, ...], str] | None] = suite_levels,
) -> list[Board]:
    """Boards for every (suite, dataset) of the records, then one per literature-only suite."""
    groups: dict[tuple[str, str], list[LoadedRecord]] = defaultdict(list)
    for item in loaded:
        groups[(item.record.suite, item.record.dataset.id)].append(item)
    by_suite: dict[str, list[LiteratureEntry]] = defaultdict(list)
    for entry in literature:
        by_suite[entry.suite].append(entry)
    boards = []
    for (suite, dataset_id), items in sorted(groups.items()):
        first = items[0].record
        chosen, origin = _levels(suite, levels, (), levels_of)
        board = Board(
            suite=suite,
            dataset_id=dataset_id,
            num_classes=first.dataset.num_classes,
            levels=chosen,
            prior_counts=tuple(first.dataset.prior_counts),
            levels_from=origin,
        )
        _fill_records(board, items)
        _fill_literature(board, by_suite.get(suite, []))
        boards.append(board)
    published = {suite for suite, _ in groups}
    for suite, entries in sorted(by_suite.items()):
        if suite in published:
            continue
        ks = {e.num_classes for e in entries if e.is_accuracy}
        if len(ks) > 1:
            raise PublishError(
                f"{entries[0].path}: num_classes: literature files of suite {suite!r} disagree ({sorted(ks)})"
            )
        own = tuple(lv for e in entries for lv in e.accuracy_levels)
        chosen, origin = _levels(suite, levels, own, levels_of)
        board = Board(
            suite=suite,
            dataset_id="",
            num_classes=ks.pop() if ks else None,
            levels=chosen,
            prior_counts=None,
            levels_from=origin,
        )
        _fill_literature(board, entries)
        boards.append(board)
    per_suite = defaultdict(int)
    for board in boards:
        per_suite[board.suite] += 1
    for board in boards:
        board.slug = board.suite if per_suite[board.suite] == 1 else f"{board.suite}-{board.dataset_id}"
    return boards


def _levels(
    suite: str,
    given: Sequence[float] | None,
    own: Sequence[float],
    levels_of: Callable[[str], tuple[tuple[float, ...], str] | None],
) -> tuple[tuple[float, ...], str]:
    if given:
        return tuple(sorted(set(given))), "--levels"
    found = levels_of(suite)
    if found:
        return tuple(sorted(set(found[0]))), found[1]
    if own:
        return tuple(sorted(set(own))), "the literature file"
    return DEFAULT_LEVELS, "default levels"


def _fill_records(board: Board, items: list[LoadedRecord]) -> None:
    board.records = items
    ok = [i.record for i in items if i.record.status == "ok"]
    board.failed = [i for i in items if i.record.status != "ok"]
    board.points = sorted(point_gaps(ok), key=lambda g: (g.codec, g.bits_per_sample, g.accuracy))
    cells: dict[str, list[LevelCell]] = defaultdict(list)
    for row in gaps_at_levels(ok, board.levels):
        cells[row.codec].append(LevelCell(row.accuracy, row.bits_per_sample, row.gap_bits))
    granularity = {g.codec: g.granularity for g in board.points}
    board.ranking = [
        Ranked(name=codec, granularity=granularity[codec], reported=None, cells=tuple(c))
        for codec, c in cells.items()
    ]
    _rank(board)
    curves = {g.codec: [] for g in board.points}
    for g in board.points:
        curves[g.codec].append((g.accuracy, g.bits_per_sample))
    _set_bd(board, curves)


def _set_bd(board: Board, curves: dict[str, list[tuple[float, float]]]) -> None:
    usable, board.bd_left_out = bd_eligible(curves)
    board.bd_rates = bd_matrix(usable)


def _rank(board: Board) -> None:
    ordered = sorted(board.ranking, key=Ranked.sort_key)
    rank, out = 0, []
    for row in ordered:
        if row.reported is None:
            rank += 1
            row = Ranked(row.name, row.granularity, None, row.cells, rank)
        out.append(row)
    board.ranking = out


def _fill_literature(board: Board, entries: Iterable[LiteratureEntry]) -> None:
    curves: dict[str, list[tuple[float, float]]] = {}
    for entry in entries:
        if entry.is_accuracy and board.num_classes is not None and entry.num_classes != board.num_classes:
            raise PublishError(
                f"{entry.path}: num_classes: {entry.num_classes} but suite {board.suite!r} "
                f"has {board.num_classes} classes"
            )
        board.literature.append(entry)
        for p in entry.points:
            board.reported.append(_reported_gap(board, entry, p))
        pts = [(p.score, p.bits_per_sample) for p in entry.points if p.bits_per_sample is not None]
        if entry.is_accuracy and pts and board.has_bound:
            hull = lower_convex_hull(pts)
            level_cells = []
            for level in board.levels:
                bits = bits_on_hull(hull, level)
                level_cells.append(
                    LevelCell(level, bits, None if bits is None else bits - board.bound(level))
                )
            board.ranking.append(
                Ranked(name=entry.label, granularity="reported", reported=entry, cells=tuple(level_cells))
            )
            curves[entry.label] = pts
    _rank(board)
    if curves:
        own = defaultdict(list)
        for g in board.points:
            own[g.codec].append((g.accuracy, g.bits_per_sample))
        _set_bd(board, {**own, **curves})


def _reported_gap(board: Board, entry: LiteratureEntry, p: ReportedPoint) -> ReportedGap:
    if not entry.is_accuracy or not board.has_bound:
        return ReportedGap(entry, p, None, None, None, None)
    uniform = bound_uniform(p.score, entry.num_classes)
    bound = board.bound(p.score)
    if p.bits_per_sample is None:
        return ReportedGap(entry, p, uniform, bound, None, None)
    gap = p.bits_per_sample - bound
    return ReportedGap(entry, p, uniform, bound, gap, p.bits_per_sample / bound if bound > 1e-12 else None)
