"""The fast-style benchmark case runs in the suite (tiny network) and its PyTorch copy
computes what the minigrad network computes."""
import json

from benchmarks import cases, cli


def test_tiny_fast_style_case_runs_against_torch(tmp_path, torch):
    assert cli.main(["--quick", "--out", str(tmp_path), "--cases", "tiny_fast_style"]) == 0
    (json_path,) = tmp_path.glob("*.json")
    (result,) = json.loads(json_path.read_text())["results"]
    assert result["name"] == "tiny_fast_style" and "error" not in result, result.get("traceback")
    assert result["details"]["max_rel_difference"] <= cases.AGREEMENT_TOLERANCE
    assert result["ratio"] > 0


def test_the_suite_lists_the_512_case():
    assert "fast_style_512" in [c.name for c in cases.CASES]
