"""The explanations the README and the page share, so the two never say different things.

Each text states a rule the numbers follow; the code that applies it is named in brackets in the
docstring of its module (report.hull, report.bounds, report.load, report.samplefile,
publish.board, publish.bdrate).
"""

from __future__ import annotations

from vcmbench.publish.bdrate import MIN_OVERLAP
from vcmbench.theory.confidence import CONFIDENCE

HULL = (
    "Each codec's achievable curve is the lower convex hull of its operating points together with the free "
    "point: sending nothing and always guessing the training split's most frequent class costs 0 bits and "
    "reaches that class's share of the test set. Between two vertices the achievable rate is linear in bits "
    "(time-sharing), so tables, plots and BD numbers follow the straight segments, never a smooth curve. "
    "Records without training-split counts (schema 1) get no free point, and the board says so."
)

RANKING = (
    "Codecs are ranked by the bits per sample they spend above the rate-accuracy bound R(1 − accuracy) at "
    "the suite's accuracy levels, reading each codec's rate off its achievable hull, so every codec is "
    "compared at matched accuracy. Each level has its own rank among the codecs that reach it; the overall "
    "rank is the mean gap over the levels that every ranked codec reaches, so no codec gains or loses rank "
    "by how many levels it reaches. Reported (literature) curves are shown for comparison but not ranked."
)

BD_RATE = (
    "BD-bits and BD-rate compare a codec (row) with an anchor (column) at equal accuracy over the "
    "accuracy range both achievable hulls cover, shown in brackets in each cell. BD-bits is the mean "
    "difference in bits per sample, which is also the difference of the two codecs' mean gaps to the "
    "bound over that range; BD-rate is the classic Bjøntegaard average, exp(mean of ln(rate ratio)) − 1 "
    "in percent. Both are integrated exactly along the piecewise-linear hulls (not with the bjontegaard "
    "package, whose smooth fits through the vertices are not achievable curves). A cell needs an overlap "
    f"of at least max({MIN_OVERLAP:g}, 1.96/√n) accuracy, n being the test samples: a narrower one can "
    "come from sampling noise at its two ends alone. Negative numbers: fewer bits than the anchor."
)

UNCERTAINTY = (
    f"Accuracies measured on n test samples carry their exact {CONFIDENCE:.0%} (Clopper–Pearson) "
    "interval, recomputed from the correct count, and the bound read at the two ends of that interval; "
    "plots draw the interval as vertical bars."
)

INTEGRITY = (
    "Records are grouped by suite, dataset id and test-set fingerprint: two test sets under one id (a "
    "--limit run beside a full run) are refused, never mixed. Every record must be readable and agree "
    "with its per-sample file (sha256 when recorded, row count, correct count, label counts, per-sample "
    "bits); a point below the bound's certified lower end (less the few bits that free stream lengths can "
    "carry) is impossible and is refused. In a results folder every *.json file is a record except "
    "reference.json, anything inside a cache/ folder and hidden files; any other damaged or foreign file "
    "stops publishing with its name."
)

PRIORS = (
    "The bound of reproduced results uses the label counts of the test samples they were measured on; "
    "reported (literature) points use the label counts of their own test set when the literature file "
    "gives them (for example the 2,468-shape ModelNet40 test split), and the uniform K-class bound "
    "otherwise; each board says which prior each bound uses."
)

RATES = (
    "Reproduced rates are real: 8 × the bytes a decoder receives, headers and side information included; "
    "bounds and gaps are recomputed from each record's bits and accuracy when the leaderboard is published."
)

REPORTED = (
    "Rows and markers labelled \u201creported, not reproduced\u201d are numbers quoted from papers or their "
    "published result files (see the references); vcmbench has not run them, and their rates were measured "
    "by their authors, so they may not count every byte the way reproduced rows do."
)

MAP_NOTE = (
    "mAP (mean average precision) is not classification accuracy: "
    "no rate-accuracy bound or gap is given for it."
)

# (title, text) in the order the README and the page show them.
RULES = (
    ("Achievable curves", HULL),
    ("Ranking", RANKING),
    ("BD-bits and BD-rate", BD_RATE),
    ("Uncertainty", UNCERTAINTY),
    ("Priors", PRIORS),
    ("Integrity", INTEGRITY),
)

SUBMIT = (
    "Anyone can add a codec to this leaderboard: run a suite on its own test set, then merge the records "
    "into a copy of this folder. Merging validates every new record as publishing does (schema, per-sample "
    "file, nothing below the bound) and refuses, in one line, a record measured on another test set than "
    "the board's (its dataset fingerprint differs) or an operating point the board already has. Every "
    "published record is kept in records/ with its per-sample file, which is what a merge rebuilds from."
)

SUBMIT_STEPS = (
    "Register the codec (an entry point in the vcmbench.codecs group) and check it: "
    "vcmbench check-codec NAME.",
    "Run the suite on its full test set: vcmbench run SUITE --codec NAME --out results/ "
    "(--save-bitstreams keeps every bitstream for a third party to decode).",
    "Merge into the leaderboard: vcmbench publish results/ --out leaderboard --merge.",
    "Open a pull request with the new files under leaderboard/records/ and the regenerated pages.",
)
