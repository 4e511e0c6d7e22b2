"""``dexsim teleop``: a synthetic stream replayed into the twin, recorded between the start and stop fists."""

from dexsim.cli import main
from dexsim.data.store import DatasetStore
from dexsim.hand.urdf import allegro_urdf
from dexsim.teleop.stream import read_hand_stream


def test_synth_replay_record_and_urdf(tmp_path, capsys):
    stream = tmp_path / "s.handstream.jsonl"
    assert main(["teleop", "synth", str(stream), "--seconds", "3", "--rate", "30", "--motion", "open_close"]) == 0
    assert len(read_hand_stream(stream).samples) == 90
    dataset = tmp_path / "ds"
    assert main(["teleop", "replay", str(stream), "--record", str(dataset), "--operator", "tester"]) == 0
    out = capsys.readouterr().out
    assert "gesture: start" in out and "gesture: stop" in out and "rejected frames 0" in out
    store = DatasetStore.open(dataset)
    assert len(store.episode_ids()) == 1
    assert main(["teleop", "urdf", str(tmp_path / "hand.urdf")]) == 0
    assert (tmp_path / "hand.urdf").read_text() == allegro_urdf()


def test_replay_of_a_bad_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n")
    assert main(["teleop", "replay", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
