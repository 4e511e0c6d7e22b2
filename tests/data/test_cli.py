"""``dexsim collect`` and ``dexsim dataset info | check | export-lerobot`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic_episodes import SMALL_CONFIG, record_synthetic, synthetic_observation

from dexsim.cli import main
from dexsim.data import DatasetStore, FrameSchema, Recorder
from dexsim.data.cli import parse_episode_ids
from dexsim.data.collect import defect_counts, parse_defect_mix, plan_defects


def test_collect_info_check_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demos"
    assert main(["collect", str(out), "-n", "3", "--seed", "5", "--defect-mix", "hesitation=0.34",
                 "--image-size", "32", "--time-limit", "2", "--preset", "train", "--no-progress"]) == 0
    assert "recorded 3 episodes" in capsys.readouterr().out
    store = DatasetStore.open(out)
    index = store.index()
    assert [s.seed for s in index] == [5, 6, 7]
    assert sorted(s.defect for s in index) == ["clean", "clean", "hesitation"]
    assert all(s.length == 40 and s.operator == "scripted-expert" for s in index)  # 2 s at 20 Hz
    assert all(store.episode(s.episode_id).metadata.scene for s in index)
    scenes = [store.episode(s.episode_id).metadata.scene for s in index]
    assert all(-10.0 <= scene["bottle_yaw"] <= 10.0 and scene["latency_steps"] in (0, 1, 2) for scene in scenes)
    assert len({scene["bottle_yaw"] for scene in scenes}) == 3  # the train preset's knobs are drawn per episode

    assert main(["dataset", "info", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["episodes"] == 3 and summary["frames"] == 120
    assert summary["labels"] == {"clean": 2, "hesitation": 1}

    assert main(["dataset", "check", str(out)]) == 0
    assert "checked 3 episodes, 120 frames: clean" in capsys.readouterr().out

    (tmp_path / "keep.json").write_text("[2, 0]")
    lerobot = tmp_path / "lerobot"
    assert main(["dataset", "export-lerobot", str(out), str(lerobot), "--episodes", "@" + str(tmp_path / "keep.json"),
                 "--vcodec", "libx264"]) == 0
    info = json.loads((lerobot / "meta/info.json").read_text())
    assert info["total_episodes"] == 2 and info["total_frames"] == 80
    assert main(["dataset", "export-lerobot", str(out), str(lerobot)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_errors_exit_2_with_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "other").mkdir()
    assert main(["dataset", "info", str(tmp_path / "other")]) == 2
    assert f"{tmp_path / 'other'} is not a dexsim dataset" in capsys.readouterr().err
    assert main(["dataset", "check", str(tmp_path / "missing")]) == 2
    assert main(["collect", str(tmp_path / "x"), "--defect-mix", "sneezing=0.1", "--no-progress"]) == 2
    assert "unknown defect mode 'sneezing'" in capsys.readouterr().err
    assert main(["collect", str(tmp_path / "x"), "--preset", "wild", "--no-progress"]) == 2
    assert "unknown sim preset 'wild'" in capsys.readouterr().err


def test_defect_plan_and_id_parsing(tmp_path: Path) -> None:
    known = ["jitter", "aborted"]
    assert parse_defect_mix("jitter=0.2, aborted=0.1", known) == {"jitter": 0.2, "aborted": 0.1}
    with pytest.raises(ValueError, match="sum to 1.100"):
        parse_defect_mix("jitter=0.6,aborted=0.5", known)
    with pytest.raises(ValueError, match="MODE=FRACTION"):
        parse_defect_mix("jitter", known)
    plan = plan_defects(10, {"jitter": 0.2, "aborted": 0.1}, seed=3)
    assert sorted(map(str, plan)).count("None") == 7 and plan.count("jitter") == 2 and plan.count("aborted") == 1
    assert plan == plan_defects(10, {"jitter": 0.2, "aborted": 0.1}, seed=3)
    assert parse_episode_ids("1,4") == [1, 4] and parse_episode_ids(None) is None
    (tmp_path / "ids.txt").write_text("3\n5\n")
    assert parse_episode_ids("@" + str(tmp_path / "ids.txt")) == [3, 5]
    with pytest.raises(ValueError, match="must be integers"):
        parse_episode_ids("a,b")


def test_check_recover_and_discard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = DatasetStore.create(tmp_path / "ds", FrameSchema.from_config(SMALL_CONFIG))
    rng = np.random.default_rng(0)
    for _ in range(2):  # two recordings abandoned mid-episode, as a crash leaves them
        recorder = Recorder(store, SMALL_CONFIG)
        record_synthetic(recorder, 4, seed=0)
        recorder.start()
        for frame in range(6):
            recorder.add(synthetic_observation(rng, SMALL_CONFIG, frame), np.zeros(16))
        recorder._journal.close()  # noqa: SLF001 - the process "dies" here
    assert main(["dataset", "check", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert out.count("interrupted recording with 6 complete frames") == 2 and "ok (warnings)" in out
    (first, second) = store.incomplete()
    store.discard_incomplete(second)
    assert main(["dataset", "check", str(store.root), "--recover"]) == 0
    out = capsys.readouterr().out
    assert f"recovered {first.path.name} as episode 2" in out and "checked 3 episodes, 14 frames: clean" in out
    assert main(["dataset", "info", str(store.root)]) == 0
    assert "successes: 2/3" in capsys.readouterr().out
    (store.episodes_dir / "episode_000007.zarr.bak").mkdir()
    assert main(["dataset", "check", str(store.root), "--recover"]) == 1
    assert "episode_000007.zarr.bak: not an episode" in capsys.readouterr().out


def test_collect_continues_seeds_and_keeps_small_defect_mixes(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demos"
    quick = ["--image-size", "32", "--cameras", "", "--time-limit", "0.5", "--no-progress"]
    assert main(["collect", str(out), "-n", "2", *quick]) == 0  # a new dataset starts at seed 0
    assert main(["collect", str(out), "-n", "3", "--defect-mix", "jitter=0.34,aborted=0.05", *quick]) == 0
    printed = capsys.readouterr().out
    assert "defect mix: jitter 1/3, aborted 0/3, clean 2/3" in printed and "seeds 2-4" in printed
    index = DatasetStore.open(out).index()
    assert [s.seed for s in index] == [0, 1, 2, 3, 4]  # continued, no scene repeated
    assert [s.defect for s in index].count("jitter") == 1
    assert main(["collect", str(out), "-n", "2", "--seed", "4", *quick]) == 2
    assert "already holds episodes with seeds [4]" in capsys.readouterr().err
    assert len(DatasetStore.open(out)) == 5


def test_defect_counts_are_exact() -> None:
    assert defect_counts(5, {"jitter": 0.1, "aborted": 0.05}) == {"jitter": 1, "aborted": 0}
    assert defect_counts(3, {"hesitation": 0.34}) == {"hesitation": 1}
    assert defect_counts(10, {"jitter": 0.2, "aborted": 0.1}) == {"jitter": 2, "aborted": 1}
    assert defect_counts(10, {"jitter": 0.1, "aborted": 0.05}) == {"jitter": 1, "aborted": 1}  # tie: defect first
    assert defect_counts(20, {"jitter": 0.1, "aborted": 0.05}) == {"jitter": 2, "aborted": 1}
    assert defect_counts(4, {"jitter": 0.5, "aborted": 0.5}) == {"jitter": 2, "aborted": 2}
    assert defect_counts(7, {"a": 0.15, "b": 0.15, "c": 0.15}) == {"a": 1, "b": 1, "c": 1}  # 1.05 each -> 1
    for n in range(1, 40):
        counts = defect_counts(n, {"a": 0.13, "b": 0.31})
        assert all(abs(counts[k] - f * n) < 1 for k, f in (("a", 0.13), ("b", 0.31))) and sum(counts.values()) <= n


def test_foreign_content_in_incoming_is_reported_and_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = DatasetStore.create(tmp_path / "ds", FrameSchema.from_config(SMALL_CONFIG))
    recorder = Recorder(store, SMALL_CONFIG)
    record_synthetic(recorder, 4, seed=0)
    recorder.start()  # an interrupted recording of a clean demonstration
    rng = np.random.default_rng(0)
    for frame in range(5):
        recorder.add(synthetic_observation(rng, SMALL_CONFIG, frame), np.zeros(16))
    recorder._journal.close()  # noqa: SLF001 - the process "dies" here
    stray = store.incoming_dir / "my_notes"
    stray.mkdir()
    (stray / "todo.txt").write_text("keep")
    (store.incoming_dir / "photo.jpg").write_bytes(b"\xff\xd8")
    assert main(["dataset", "check", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "my_notes: warning" not in out and f"{stray}: not a recording" in out and "foreign content" in out
    assert "photo.jpg: not a recording (a file)" in out and out.count("interrupted recording with") == 1
    assert main(["dataset", "check", str(store.root), "--recover"]) == 0
    assert "recovered " in capsys.readouterr().out
    assert (stray / "todo.txt").read_text() == "keep" and (store.incoming_dir / "photo.jpg").exists()
    recovered = store.episode(1).metadata
    assert recovered.recovered and recovered.defect == "recovered" and not recovered.success
    assert main(["dataset", "info", str(store.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"]["recovered"] == 1
    assert main(["dataset", "check", str(store.root), "--discard"]) == 0
    assert "discarded foreign entry" in capsys.readouterr().out and not any(store.incoming_dir.iterdir())
