"""One leaderboard section per (suite, dataset, test-set fingerprint): every number the tables and plots show.

Gaps come from ``vcmbench.report`` (recomputed from bits and accuracy). Every hull is the
achievable curve: the lower convex hull of a codec's points together with the free point (0 bits,
always guessing the training split's most likely class) when the records name the training
split. Literature points are measured against the bound of their own test set (its label
counts, or the uniform K-class bound when the file gives none), and each board says which.

Ranking: per level, codecs reaching it are ranked by their gap there; overall, by the mean gap
over the levels that every ranked codec reaches, so no codec gains or loses rank by how many
levels it reaches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from statistics import fmean

from vcmbench.api.record import ResultRecord
from vcmbench.errors import VcmbenchError
from vcmbench.publish.bdrate import BdRate, bd_eligible, bd_matrix
from vcmbench.publish.detection import DetectionBoard, build_detection
from vcmbench.publish.literature import LiteratureEntry, ReportedPoint
from vcmbench.publish.records import LoadedRecord, PublishError
from vcmbench.report.detection import is_detection
from vcmbench.report.gaps import (
    FreePoint,
    PointGap,
    bound_prior,
    bound_uniform,
    group_free_point,
    point_gaps,
)
from vcmbench.report.hull import Point, achievable_hull, bits_on_hull
from vcmbench.report.show import DEFAULT_LEVELS


@dataclass(frozen=True)
class LevelCell:
    accuracy: float
    bits_per_sample: float | None  # None: the curve never reaches this accuracy
    gap_bits: float | None
    rank: int | None = None  # rank at this level among ranked codecs that reach it


@dataclass(frozen=True)
class Ranked:
    """A codec (or a reported curve) at the suite's accuracy levels."""

    name: str
    granularity: str
    reported: LiteratureEntry | None  # set for literature curves: they get no rank
    cells: tuple[LevelCell, ...]
    rank: int | None = None  # overall rank (mean gap on the levels every ranked codec reaches)
    mean_gap: float | None = None  # mean gap over the board's common levels (None: misses one of them)

    @property
    def reached(self) -> int:
        return sum(c.gap_bits is not None for c in self.cells)


@dataclass(frozen=True)
class ReportedGap:
    entry: LiteratureEntry
    point: ReportedPoint
    bound_bits_uniform: float | None  # None for mAP: no rate-accuracy bound applies
    bound_bits: float | None  # the bound of the entry's own test set at this accuracy
    gap_bits: float | None
    gap_ratio: float | None


@dataclass
class Board:
    suite: str
    dataset_id: str
    num_classes: int | None
    levels: tuple[float, ...]
    prior_counts: tuple[int, ...] | None  # None: uniform over num_classes
    records: list[LoadedRecord] = field(default_factory=list)
    points: list[PointGap] = field(default_factory=list)
    ranking: list[Ranked] = field(default_factory=list)
    bd_rates: list[BdRate] = field(default_factory=list)
    bd_left_out: list[str] = field(default_factory=list)  # curves whose hull is a single point
    literature: list[LiteratureEntry] = field(default_factory=list)
    reported: list[ReportedGap] = field(default_factory=list)
    failed: list[LoadedRecord] = field(default_factory=list)
    levels_from: str = ""
    slug: str = ""  # file-name stem of its plots: the suite, plus the dataset when a suite has several
    fingerprint: str = ""  # test-set fingerprint of the records ("" for a literature-only board)
    free: FreePoint | None = None  # the records' free point (None: literature-only board)
    prior_name: str = ""  # for a literature-only board: the label of the literature prior it uses
    common_levels: tuple[float, ...] = ()  # levels every ranked codec reaches: the overall ranking's
    hulls: dict[str, list[Point]] = field(default_factory=dict)  # achievable hull of every curve shown
    # Detection records (ranked by mAP; eq. 7 beside it): their own section (vcmbench.publish.detection).
    detection: DetectionBoard | None = None

    @property
    def first(self) -> ResultRecord | None:
        return self.records[0].record if self.records else None

    @property
    def has_bound(self) -> bool:
        return self.num_classes is not None

    @property
    def samples(self) -> int | None:
        """Test samples behind the board's accuracies (the records', or the literature prior's)."""
        if self.first is not None:
            return self.first.dataset.samples
        return sum(self.prior_counts) if self.prior_counts is not None else None

    @property
    def bound_label(self) -> str:
        if self.prior_counts is None:
            return f"uniform prior, K={self.num_classes} (paper eq. 4)"
        if self.prior_name:
            return f"label prior of the {self.prior_name}"
        return f"label prior of the {sum(self.prior_counts)} test samples, K={self.num_classes}"

    def bound(self, accuracy: float) -> float:
        if self.prior_counts is None:
            return bound_uniform(accuracy, self.num_classes)
        return bound_prior(accuracy, self.prior_counts)


def entry_bound(entry: LiteratureEntry, accuracy: float) -> float:
    """The bound of a literature entry's own test set (uniform K-class without its counts)."""
    if entry.test_prior is not None:
        return bound_prior(accuracy, entry.test_prior.counts)
    return bound_uniform(accuracy, entry.num_classes)


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
    return tuple(config.accuracy_levels), f"suite file {where}"


def build_boards(
    loaded: Sequence[LoadedRecord],
    literature: Sequence[LiteratureEntry] = (),
    levels: Sequence[float] | None = None,
    levels_of: Callable[[str], tuple[tuple[float, ...], str] | None] = suite_levels,
) -> list[Board]:
    """Boards for every (suite, dataset, fingerprint) of the records, then one per literature-only suite."""
    groups: dict[tuple[str, str, str], list[LoadedRecord]] = defaultdict(list)
    for item in loaded:
        r = item.record
        groups[(r.suite, r.dataset.id, r.dataset.fingerprint)].append(item)
    _refuse_two_test_sets(groups)
    by_suite: dict[str, list[LiteratureEntry]] = defaultdict(list)
    for entry in literature:
        by_suite[entry.suite].append(entry)
    boards = []
    placed: set[int] = set()
    detection_suites: set[str] = set()
    for (suite, dataset_id, fingerprint), items in sorted(groups.items()):
        first = items[0].record
        chosen, origin = _levels(suite, levels, (), levels_of)
        if is_detection(first):
            detection_suites.add(suite)
            boards.append(_detection_board(suite, dataset_id, fingerprint, items, chosen, origin,
                                           by_suite.get(suite, [])))
            continue
        board = Board(
            suite=suite,
            dataset_id=dataset_id,
            num_classes=first.dataset.num_classes,
            levels=chosen,
            prior_counts=tuple(first.dataset.prior_counts),
            levels_from=origin,
            fingerprint=fingerprint,
        )
        _fill_records(board, items)
        fitting = [e for e in by_suite.get(suite, []) if _fits(e, board.num_classes)]
        placed.update(id(e) for e in fitting)
        _fill_literature(board, fitting)
        boards.append(board)
    published = {suite for suite, _, _ in groups}
    for suite, entries in sorted(by_suite.items()):
        if suite not in published:
            boards.append(_literature_board(suite, entries, levels, levels_of))
        elif suite not in detection_suites:
            # Reported on the real benchmark while this suite ran on another test set (an embedded
            # stand-in with other classes): the reported points get a section of their own.
            homeless = [e for e in entries if id(e) not in placed]
            if homeless:
                boards.append(_literature_board(suite, homeless, levels, levels_of))
    per_suite: dict[str, int] = defaultdict(int)
    for board in boards:
        per_suite[board.suite] += 1
    for board in boards:
        own = board.dataset_id or "reported"
        board.slug = board.suite if per_suite[board.suite] == 1 else f"{board.suite}-{own}"
    return boards


def _fits(entry: LiteratureEntry, num_classes: int | None) -> bool:
    """A reported accuracy curve belongs on a board only when it has that board's classes."""
    return not entry.is_accuracy or num_classes is None or entry.num_classes == num_classes


def _detection_board(suite: str, dataset_id: str, fingerprint: str, items: list[LoadedRecord],
                     levels: tuple[float, ...], origin: str, entries: list[LiteratureEntry]) -> Board:
    """A detection section: no classification bound, mAP levels, eq. 7 beside (publish.detection)."""
    board = Board(suite=suite, dataset_id=dataset_id, num_classes=None, levels=levels, prior_counts=None,
                  levels_from=origin, fingerprint=fingerprint)
    board.records = items
    board.failed = [i for i in items if i.record.status != "ok"]
    board.detection = build_detection([i.record for i in items], levels)
    _fill_literature(board, entries)
    return board


def _refuse_two_test_sets(groups: dict[tuple[str, str, str], list[LoadedRecord]]) -> None:
    seen: dict[tuple[str, str], LoadedRecord] = {}
    for (suite, dataset_id, fingerprint), items in groups.items():
        other = seen.setdefault((suite, dataset_id), items[0])
        if other.record.dataset.fingerprint != fingerprint:
            raise PublishError(
                f"{items[0].path}: dataset.fingerprint {fingerprint} differs from "
                f"{other.record.dataset.fingerprint} in {other.path}: two test sets under the id "
                f"{dataset_id!r} (a --limit run keeps the id); publish the records of one of them"
            )


def _literature_board(
    suite: str,
    entries: list[LiteratureEntry],
    levels: Sequence[float] | None,
    levels_of: Callable[[str], tuple[tuple[float, ...], str] | None],
) -> Board:
    ks = {e.num_classes for e in entries if e.is_accuracy}
    if len(ks) > 1:
        raise PublishError(
            f"{entries[0].path}: num_classes: literature files of suite {suite!r} disagree ({sorted(ks)})"
        )
    priors = {e.test_prior for e in entries if e.is_accuracy}
    shared = priors.pop() if len(priors) == 1 else None
    own = tuple(lv for e in entries for lv in e.accuracy_levels)
    chosen, origin = _levels(suite, levels, own, levels_of)
    board = Board(
        suite=suite,
        dataset_id="",
        num_classes=ks.pop() if ks else None,
        levels=chosen,
        prior_counts=shared.counts if shared is not None else None,
        levels_from=origin,
        prior_name=shared.label if shared is not None else "",
    )
    _fill_literature(board, entries)
    return board


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


def _cells(hull: list[Point], levels: Sequence[float],
           bound: Callable[[float], float]) -> tuple[LevelCell, ...]:
    cells = []
    for level in levels:
        bits = bits_on_hull(hull, level)
        cells.append(LevelCell(level, bits, None if bits is None else bits - bound(level)))
    return tuple(cells)


def _fill_records(board: Board, items: list[LoadedRecord]) -> None:
    board.records = items
    ok = [i.record for i in items if i.record.status == "ok"]
    board.failed = [i for i in items if i.record.status != "ok"]
    board.free = group_free_point([i.record for i in items])
    board.points = sorted(point_gaps(ok), key=lambda g: (g.codec, g.bits_per_sample, g.accuracy))
    points: dict[str, list[Point]] = defaultdict(list)
    for g in board.points:
        points[g.codec].append((g.accuracy, g.bits_per_sample))
    granularity = {g.codec: g.granularity for g in board.points}
    for codec, pts in points.items():
        hull = achievable_hull(pts, board.free.point)
        board.hulls[codec] = hull
        board.ranking.append(Ranked(codec, granularity[codec], None, _cells(hull, board.levels, board.bound)))
    _rank(board)
    _set_bd(board)


def _set_bd(board: Board) -> None:
    usable, board.bd_left_out = bd_eligible(board.hulls)
    board.bd_rates = bd_matrix(usable, board.samples)


def _rank(board: Board) -> None:
    """Per-level ranks, the common levels, the overall rank, and the display order."""
    ranked = [r for r in board.ranking if r.reported is None]
    n = len(board.levels)
    common = [i for i in range(n) if ranked and all(r.cells[i].gap_bits is not None for r in ranked)]
    board.common_levels = tuple(board.levels[i] for i in common)
    level_rank: dict[tuple[str, int], int] = {}
    for i in range(n):
        reaching = sorted((r for r in ranked if r.cells[i].gap_bits is not None),
                          key=lambda r: (r.cells[i].gap_bits, r.name))
        for k, r in enumerate(reaching, start=1):
            level_rank[(r.name, i)] = k

    def mean_common(r: Ranked) -> float | None:
        gaps = [r.cells[i].gap_bits for i in common]
        return fmean(gaps) if gaps and all(g is not None for g in gaps) else None

    rows = []
    for r in board.ranking:
        cells = tuple(replace(c, rank=level_rank.get((r.name, i)) if r.reported is None else None)
                      for i, c in enumerate(r.cells))
        rows.append(replace(r, cells=cells, mean_gap=mean_common(r), rank=None))
    rows.sort(key=lambda r: (r.mean_gap is None, r.mean_gap if r.mean_gap is not None else 0.0, r.name))
    out, rank = [], 0
    for r in rows:
        if r.reported is None and r.mean_gap is not None:
            rank += 1
            r = replace(r, rank=rank)
        out.append(r)
    board.ranking = out


def _fill_literature(board: Board, entries: Iterable[LiteratureEntry]) -> None:
    added = False
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
            hull = achievable_hull(pts, entry.free_point)
            board.hulls[entry.label] = hull
            cells = _cells(hull, board.levels, lambda a, e=entry: entry_bound(e, a))
            board.ranking.append(Ranked(entry.label, "reported", entry, cells))
            added = True
    if added or not board.records:
        _rank(board)
        _set_bd(board)


def _reported_gap(board: Board, entry: LiteratureEntry, p: ReportedPoint) -> ReportedGap:
    if not entry.is_accuracy or not board.has_bound:
        return ReportedGap(entry, p, None, None, None, None)
    uniform = bound_uniform(p.score, entry.num_classes)
    bound = entry_bound(entry, p.score)
    if p.bits_per_sample is None:
        return ReportedGap(entry, p, uniform, bound, None, None)
    gap = p.bits_per_sample - bound
    return ReportedGap(entry, p, uniform, bound, gap, p.bits_per_sample / bound if bound > 1e-12 else None)
