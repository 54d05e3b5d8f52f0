"""The conformance kit: conforming codecs pass, and every check fails on a codec that breaks it."""

from __future__ import annotations

import sys

import pytest

from vcmbench.conformance import CHECKS, Finding, assert_codec_conforms, check_codecs
from vcmbench.conformance.damage import damage_cases, prefixes
from vcmbench.errors import UsageError, VcmbenchError

TOYS = "conformance_toys"
BUDGET = 64 << 20  # the toys' memory budget: AllocatesOnDamage asks for 256 MB

BROKEN = {  # toy class -> the check it must fail
    "BadContract": "contract",
    "BadPoints": "points",
    "BadPrepare": "prepare",
    "BytearrayStreams": "bytes",
    "BadEstimate": "bytes",
    "BatchDiffers": "batch",
    "OutOfRangeLabels": "roundtrip",
    "LosesLastSample": "count",
    "RemembersItsEncoder": "separate-decoder",
    "ProcessDependentBytes": "determinism",
    "CrashesOnDamage": "damage",
    "InvalidOnDamage": "damage",
    "HangsOnDamage": "hang",
    "AllocatesOnDamage": "memory",
    "ExitsOnDamage": "crash",
}


def run_toys(names: list[str], tmp_path, **options) -> dict[str, list[Finding]]:
    specs = [f"{TOYS}:{n}" for n in names]
    findings = check_codecs(specs, setup=f"{TOYS}:toy_setup", cache_dir=tmp_path,
                            time_limit=3.0, memory_budget=BUDGET, flips=16, **options)
    by_toy: dict[str, list[Finding]] = {n: [] for n in names}
    for f in findings:
        by_toy[f.codec.split(":")[-1].rstrip(")")].append(f)
    return by_toy


@pytest.fixture(scope="module")
def toy_findings(tmp_path_factory) -> dict[str, list[Finding]]:
    return run_toys(["GoodLabels", "GoodImages", *BROKEN], tmp_path_factory.mktemp("toys"))


@pytest.mark.parametrize("toy", ["GoodLabels", "GoodImages"])
def test_conforming_codecs_have_no_findings(toy_findings, toy):
    assert toy_findings[toy] == []


@pytest.mark.parametrize(("toy", "check"), BROKEN.items(), ids=list(BROKEN))
def test_each_check_catches_the_codec_that_breaks_it(toy_findings, toy, check):
    if check == "memory" and not sys.platform.startswith("linux"):
        pytest.skip("the address-space cap needs Linux")
    found = {f.check for f in toy_findings[toy]}
    assert check in found, [str(f) for f in toy_findings[toy]]


def test_every_check_is_exercised_by_a_broken_codec():
    from test_conformance_layered import BROKEN as LAYERED  # the layered checks' toys

    assert set(BROKEN.values()) | set(LAYERED.values()) == set(CHECKS)


def test_findings_name_the_point_and_say_what_happened(toy_findings):
    finding = next(f for f in toy_findings["RemembersItsEncoder"] if f.check == "separate-decoder")
    assert "separately prepared decoder" in finding.message and str(finding).startswith("RemembersItsEncoder")
    hang = next(f for f in toy_findings["HangsOnDamage"] if f.check == "hang")
    assert "no result within" in hang.message and "stream 0" in hang.message


def test_assert_codec_conforms_lists_the_findings(tmp_path):
    assert_codec_conforms(f"{TOYS}:GoodImages", setup=f"{TOYS}:toy_setup",
                          cache_dir=tmp_path, flips=4)
    with pytest.raises(AssertionError, match=r"\[count\]"):
        assert_codec_conforms(f"{TOYS}:LosesLastSample", setup=f"{TOYS}:toy_setup",
                              cache_dir=tmp_path, flips=4, points="first")


def test_bad_requests_are_one_line_usage_errors(tmp_path):
    with pytest.raises(VcmbenchError, match="unknown codec"):
        check_codecs(["no-such-codec"])
    with pytest.raises(UsageError, match="points"):
        check_codecs([f"{TOYS}:GoodLabels"], points="some")
    with pytest.raises(UsageError, match="cannot import"):
        check_codecs(["no_such_module:Codec"])


def test_damage_cases_cover_every_cut_and_the_header():
    stream = bytes(range(40))
    cases = damage_cases(stream, flips=8, seed=1)
    labels = [label for label, _ in cases]
    assert [data for label, data in cases if label.startswith("cut")] == [stream[:c] for c in range(40)]
    assert sum(label.startswith("header bit") for label in labels) == 32
    assert all(data != stream for _, data in cases)
    assert damage_cases(stream, flips=8, seed=1) == cases  # reproducible
    assert len(prefixes(10_000, 100)) <= 132 and prefixes(10_000, 100)[-1] == 9_999


def run_command(argv: list[str]) -> int:
    """`vcmbench check-codec ...` through the command's own parser (the CLI lists it as check_codec)."""
    import argparse

    from vcmbench.commands import check_codec

    parser = argparse.ArgumentParser(prog="vcmbench")
    check_codec.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["check-codec", *argv])
    return args.func(args)


def test_the_command_prints_each_finding_and_exits_1(tmp_path, capsys):
    common = ["--setup", f"{TOYS}:toy_setup", "--cache-dir", str(tmp_path), "--flips", "4", "--quiet"]
    assert run_command([f"{TOYS}:GoodImages", *common]) == 0
    assert capsys.readouterr().out == ""
    assert run_command([f"{TOYS}:LosesLastSample", "--points", "first", *common]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out and all("[count]" in line and "LosesLastSample" in line for line in out)


def test_the_command_refuses_nonsense_in_one_line(tmp_path):
    with pytest.raises(UsageError, match="--memory"):
        run_command(["png", "--memory", "0", "--cache-dir", str(tmp_path)])
    with pytest.raises(VcmbenchError, match="unknown codec"):
        run_command(["no-such-codec", "--cache-dir", str(tmp_path)])
