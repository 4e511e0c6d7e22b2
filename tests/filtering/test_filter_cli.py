"""``dexsim filter`` end to end (dexsim.filtering.pipeline and .cli): artefacts, subsets, cache reuse, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import make_dataset

from dexsim.cli import main
from dexsim.data.subsets import list_subsets, load_subset
from dexsim.filtering import FilterConfig, run_filter
from dexsim.filtering.pipeline import ARTEFACTS

FAST = ["--input-size", "32", "--stride", "6", "--min-cluster-size", "3", "--weights", "random", "--no-progress",
        "--threads", "1"]


def test_filter_on_a_collected_dataset_writes_every_artefact(tmp_path, capsys):
    from dexsim.data.collect import collect_expert_demos
    from dexsim.sim.config import SimConfig

    data = tmp_path / "demos"
    collect_expert_demos(data, 7, defect_mix={"aborted": 0.15, "jitter": 0.15}, progress=False,
                         config=SimConfig(image_size=32, time_limit_s=1.5))
    assert main(["filter", str(data), "--evaluate", "--backbone", "resnet18", *FAST]) == 0
    out = data / "filter"
    for name in (*ARTEFACTS, "evaluation.md", "evaluation.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    printed = capsys.readouterr().out
    assert "RANDOMLY INITIALISED" in printed
    record = json.loads((out / "scores.json").read_text())
    assert record["weights"]["random_init"] is True and "RANDOM-INIT" in record["weights_note"]
    assert record["settings"]["backbone"] == "resnet18" and record["versions"]["timm"]
    assert "RANDOM-INIT" in (out / "evaluation.md").read_text()
    rows = list(csv.DictReader((out / "scores.csv").open()))
    assert len(rows) == 7
    assert sorted(list_subsets(data)) == ["outliers-removed-10", "outliers-removed-25", "outliers-removed-50"]
    for percent in (10, 25, 50):  # what the policy configs' `subset = "outliers-removed-<p>"` loads
        kept = load_subset(data, f"outliers-removed-{percent}")
        assert kept == sorted(int(r["episode_id"]) for r in rows if r[f"removed_{percent}"] == "0")
    kept = [set(load_subset(data, f"outliers-removed-{p}")) for p in (10, 25, 50)]
    assert kept[2] <= kept[1] <= kept[0]


def test_rescoring_reuses_the_cache_and_a_new_stride_recomputes(labelled_dataset: Path, tmp_path):
    config = FilterConfig(backbone="resnet18", weights="random", input_size=32, stride=6, min_cluster_size=3,
                          threads=1)
    first = run_filter(labelled_dataset, config, out=tmp_path / "a", progress=False)
    assert first.images_encoded > 0 and first.cache_hits == 0
    again = run_filter(labelled_dataset, config, out=tmp_path / "a", progress=False)
    assert again.images_encoded == 0 and again.cache_hits == 12 * 2
    assert (again.scores == first.scores).all() and again.ranks.tolist() == first.ranks.tolist()
    changed = run_filter(labelled_dataset, FilterConfig(**{**config.to_json(), "stride": 5}), out=tmp_path / "a",
                         progress=False)
    assert changed.images_encoded > 0 and changed.cache_hits == 0
    traj = run_filter(labelled_dataset, FilterConfig(scorer="trajectory", stride=4, min_cluster_size=3),
                      out=tmp_path / "t", progress=False)
    assert traj.weights is None and set(traj.components) == {"trajectory", "action_jerk", "episode_length"}
    assert traj.scores.shape == (12,) and (traj.out / "contact_sheet.png").is_file()


def test_filter_errors_name_the_cause(labelled_dataset: Path, tmp_path, capsys):
    few = make_dataset(tmp_path / "few", ["clean", "clean", "jitter"]).root
    cases = [
        ([str(few)], "has 3 demonstrations"),
        ([str(labelled_dataset), "--cameras", "top,side"], "no camera 'side'"),
        ([str(labelled_dataset), "--weights", str(tmp_path / "missing.pth")], "missing.pth"),
        ([str(tmp_path / "nowhere")], "nowhere"),
    ]
    unlabelled = make_dataset(tmp_path / "unlabelled", [None] * 7).root
    cases.append(([str(unlabelled), "--evaluate", "--scorer", "trajectory", "--min-cluster-size", "3"],
                  "no ground-truth labels"))
    for argv, message in cases:
        assert main(["filter", *argv, "--out", str(tmp_path / "o"), "--no-progress"]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    state_only = make_dataset(tmp_path / "state", ["clean"] * 7, config=_state_only_config()).root
    with pytest.raises(ValueError, match="records no camera images"):
        run_filter(state_only, FilterConfig(min_cluster_size=3), progress=False)
    assert run_filter(state_only, FilterConfig(scorer="trajectory", min_cluster_size=3), progress=False).scores.size


def _state_only_config():
    from synthetic_episodes import SMALL_CONFIG

    from dexsim.interface import ControlConfig

    return ControlConfig(image_size=SMALL_CONFIG.image_size, control_hz=SMALL_CONFIG.control_hz, cameras=())
