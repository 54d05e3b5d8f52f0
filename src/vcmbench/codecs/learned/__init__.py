"""Learned codecs for machines: the entropic student and split-feature coding (paper section V).

``entropic-student-ans`` (student_ans) sends the same checkpoints' codeword index per sample with a
byte-terminated range code instead of a compressai string.

Registering them imports neither torch nor compressai: the networks load on first use.
split-feature is registered lazily (by name) because its module imports torch at the top.
"""

from vcmbench.api.codec import CODECS
from vcmbench.codecs.learned import student, student_ans  # noqa: F401

CODECS.add_lazy("split-feature", "vcmbench.codecs.learned.split_feature:SplitFeatureCodec")
CODECS.add_lazy("split-feature-block", "vcmbench.codecs.learned.split_feature:SplitFeatureBlockCodec")
