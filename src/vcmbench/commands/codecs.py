"""`vcmbench codecs`: list registered codecs (built-in and from installed packages)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("codecs", help="list registered codecs and their operating points")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vcmbench.api.codec import CODECS  # the registry imports the codec modules: only when listing

    for name in CODECS.names():
        cls = CODECS.get(name)
        points = len(cls.operating_points())
        print(f"{name:<22} {cls.granularity:<6} -> {cls.decodes_to:<8} {points:>3} point(s)  "
              f"{cls.description}")
        libraries = libraries_of(cls)
        if libraries:
            print(f"{'':<22} libraries: {', '.join(f'{k} {v}' for k, v in libraries.items())}")
    return 0


def libraries_of(cls: type) -> dict[str, str]:
    """The libraries a codec wraps, as its first operating point reports them ({} if it cannot say
    without being prepared: what a codec wraps does not depend on its operating point)."""
    from vcmbench.errors import VcmbenchError

    points = cls.operating_points() or [{}]
    try:
        return dict(cls(**points[0]).libraries())
    except (VcmbenchError, TypeError):
        return {}
