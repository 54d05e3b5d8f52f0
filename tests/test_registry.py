from __future__ import annotations

import sys
import textwrap

import pytest

from vcmbench.api.codec import CODECS
from vcmbench.api.registry import Registry
from vcmbench.errors import UnknownNameError, VcmbenchError


def test_unknown_name_suggests_close_match():
    reg: Registry[int] = Registry("widget", "vcmbench.test_widgets")
    reg.add("label-huffman", 1)
    with pytest.raises(UnknownNameError, match="did you mean 'label-huffman'"):
        reg.get("label-hufman")


def test_duplicate_registration_is_refused():
    reg: Registry[object] = Registry("widget", "vcmbench.test_widgets")

    @reg.register("a")
    class A:
        pass

    with pytest.raises(VcmbenchError, match="registered twice"):
        @reg.register("a")
        class B:
            pass


def test_registering_sets_the_name():
    reg: Registry[type] = Registry("widget", "vcmbench.test_widgets")

    @reg.register("my-widget")
    class W:
        name = "?"

    assert reg.get("my-widget") is W and W.name == "my-widget"


def test_lazy_entry_is_imported_on_first_use(tmp_path, monkeypatch):
    (tmp_path / "lazy_widget_mod.py").write_text("class Thing:\n    name = '?'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[type] = Registry("widget", "vcmbench.test_widgets")
    reg.add_lazy("thing", "lazy_widget_mod:Thing")
    assert "lazy_widget_mod" not in sys.modules
    assert reg.get("thing").__name__ == "Thing"


def test_broken_lazy_entry_is_a_clear_error():
    reg: Registry[type] = Registry("widget", "vcmbench.test_widgets")
    reg.add_lazy("ghost", "no_such_module_xyz:Ghost")
    with pytest.raises(VcmbenchError, match="cannot be loaded"):
        reg.get("ghost")


def test_third_party_codec_appears_through_entry_point(tmp_path, monkeypatch, capsys):
    """A package that declares [project.entry-points."vcmbench.codecs"] shows in `vcmbench codecs`."""
    pkg = tmp_path / "thirdparty_codec"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from vcmbench.api.codec import SampleCodec

        class MyCodec(SampleCodec):
            description = "a third-party codec"
            decodes_to = "input"

            def encode(self, x):
                return bytes(x)

            def decode(self, data):
                return data
    """))
    dist = tmp_path / "thirdparty_codec-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-codec\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[vcmbench.codecs]\nmycodec = thirdparty_codec:MyCodec\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh = Registry("codec", "vcmbench.codecs", builtin_modules=["vcmbench.codecs"])
    monkeypatch.setattr("vcmbench.api.codec.CODECS", fresh)  # what `vcmbench codecs` looks up when it runs
    from vcmbench.cli import main

    assert main(["codecs"]) == 0
    out = capsys.readouterr().out
    assert "mycodec" in out and "a third-party codec" in out
    assert fresh.get("mycodec").__name__ == "MyCodec"
    assert "mycodec" not in CODECS.names() or CODECS.get("mycodec") is fresh.get("mycodec")
