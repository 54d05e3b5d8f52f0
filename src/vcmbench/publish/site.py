"""Files the site serves beside ``index.html``: the published records themselves, and plotly's JS.

Every record on the board is copied byte for byte (with its per-sample file, whose sha256 the
record holds) to ``records/<suite>/<dataset>/<codec>-<hash>/``, so each row links to the very
file that produced it, anyone can re-check it with ``vcmbench report``, and ``vcmbench publish
--merge`` can rebuild the board from the site folder alone. The folder name carries the first 12
hex digits of the record's sha256, so two operating points never share a folder and the same
record always lands in the same place.

The interactive plot uses the ``plotly.min.js`` that the installed ``plotly`` package ships as
package data, copied into the site: the page works offline and loads nothing from a CDN.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from vcmbench.api.record import write_text_atomic
from vcmbench.publish.records import LoadedRecord, PublishError
from vcmbench.report.samplefile import sample_file_path

RECORDS_DIR = "records"
PLOTLY_JS = "plotly.min.js"
PLOTLY_CSS = "plotly.css"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# The rules plotly.js injects as a <style> element, which the page's Content-Security-Policy refuses;
# the page links them as a file instead (plotly skips its injection when it finds that element).
PLOTLY_SCOPE = ".js-plotly-plot .plotly"
_PLOTLY_RULES_START = '{"X,X div":'
# A bundled library's CSS that plotly.js injects at load unless an element with this id exists.
_INJECTED_STYLE = re.compile(
    r'getElementById\("([0-9a-f]{32,64})"\)\)\{var \w+=document\.createElement\("style"\)')
_RULE = re.compile(r'"([^"]*)":(?:"([^"]*)"|\'([^\']*)\')')
_FALLBACK_RULES = {
    "X,X div": 'direction:ltr;font-family:"Open Sans",verdana,arial,sans-serif;margin:0;padding:0;border:0;',
    "X .main-svg": "position:absolute;top:0;left:0;pointer-events:none;",
    "X .main-svg .draglayer": "pointer-events:all;",
    "X .user-select-none": "user-select:none;",
    "X .crisp": "shape-rendering:crispEdges;",
}


def safe_part(text: str, limit: int = 40) -> str:
    """A file-name part from any string: letters, digits, '.', '_', '-' only, never empty or hidden."""
    part = _UNSAFE.sub("_", text).strip("._")[:limit]
    return part or "x"


def record_folder(item: LoadedRecord) -> str:
    """``records/<suite>/<dataset>/<codec>-<sha12>`` (relative to the site), from the record's bytes."""
    digest = hashlib.sha256(item.path.read_bytes()).hexdigest()[:12]
    r = item.record
    return "/".join((RECORDS_DIR, safe_part(r.suite), safe_part(r.dataset.id),
                     f"{safe_part(r.codec.name)}-{digest}"))


def copy_records(loaded: Sequence[LoadedRecord], out_dir: Path) -> dict[Path, str]:
    """Copy each record (and its sample file) into the site; return record path -> its (URL-quoted) href.

    Files under ``records/`` that no published record owns any more are removed, so the site never
    links, or merges, a record that is not on the board.
    """
    hrefs: dict[Path, str] = {}
    keep: set[Path] = set()
    for item in loaded:
        folder = out_dir / record_folder(item)
        target = folder / item.path.name
        sources = [(item.path, target)]
        samples = sample_file_path(item.path, item.record)
        if samples is not None:
            sources.append((samples, folder / samples.name))
        for source, dest in sources:
            keep.add(dest.resolve())
            if source.resolve() == dest.resolve():
                continue  # merging: the record already lives in the site
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
        hrefs[item.path] = quote(target.relative_to(out_dir).as_posix())  # a '#' in a file name stays a name
    _remove_stale(out_dir / RECORDS_DIR, keep)
    return hrefs


def _remove_stale(root: Path, keep: set[Path]) -> None:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*"), reverse=True):  # children before their folders
        if path.is_file() and path.resolve() not in keep and path.suffix in (".json", ".csv"):
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def plotly_source() -> Path:
    """The ``plotly.min.js`` the installed plotly package ships; PublishError when plotly is missing."""
    try:
        import plotly
    except ImportError as exc:
        raise PublishError("the interactive plot needs the plotly package (pip install plotly): "
                           f"its package data holds {PLOTLY_JS}") from exc
    path = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    if not path.is_file():
        raise PublishError(f"{path}: missing from the installed plotly package; reinstall plotly")
    return path


def plotly_css(js: str) -> str:
    """plotly's global style rules as a stylesheet, read from the JS that injects them."""
    start = js.find(_PLOTLY_RULES_START)
    end = js.find("}", start) if start >= 0 else -1
    rules = dict(_FALLBACK_RULES)
    if start >= 0 and end > start:
        for key, double, single in _RULE.findall(js[start:end + 1]):
            rules[key] = double or single
    lines = ["/* plotly.js global styles, as a file: the page's CSP allows no injected <style>. */"]
    for selector, body in rules.items():
        scoped = ",".join(part.replace("X", PLOTLY_SCOPE, 1) for part in selector.split(","))
        lines.append(f"{scoped} {{{body}}}")
    return "\n".join(lines) + "\n"


def injected_style_ids(js: str) -> list[str]:
    """Ids of the <style> elements plotly.js would inject at load (map CSS the board never uses).

    The page carries an empty element with each id, so plotly skips the injection, which the page's
    Content-Security-Policy would refuse with an error in the console.
    """
    return sorted(set(_INJECTED_STYLE.findall(js)))


def write_plotly(out_dir: Path) -> tuple[list[Path], list[str]]:
    """Copy plotly.min.js into the site and write plotly.css beside it; the paths and style ids to hold."""
    source = plotly_source()
    js_path, css_path = out_dir / PLOTLY_JS, out_dir / PLOTLY_CSS
    if not js_path.is_file() or js_path.read_bytes() != source.read_bytes():
        shutil.copyfile(source, js_path)
    js = source.read_text(encoding="utf-8")
    write_text_atomic(css_path, plotly_css(js))
    return [js_path, css_path], injected_style_ids(js)
