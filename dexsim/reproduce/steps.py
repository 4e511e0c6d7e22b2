"""The steps of ``dexsim reproduce`` as user-visible ``dexsim`` commands, run with completion markers.

Each step is one ``dexsim`` command line (run as ``python -m dexsim.cli ...`` in a subprocess, its output teed to
``OUT/logs/<step>.log``). When it exits 0 and its outputs exist, a marker ``OUT/steps/<step>.json`` records the
command, the exit status and the wall time. A later run skips every step with a marker (if the command is the same),
so a killed run continues with the step it was in: ``dexsim train`` resumes from its own checkpoints, an
interrupted collection is started again from an empty dataset (so the dataset is the same as an uninterrupted run's),
filtering and evaluation are simply re-run.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Step", "StepFailed", "StepRunner", "run_subprocess", "Pipeline", "MARKERS_DIR", "LOGS_DIR", "STAGES"]

MARKERS_DIR = "steps"
LOGS_DIR = "logs"
STAGES = ("collect", "filter", "train", "eval")
"""The stages of a study in order; a step's stage is its name up to the first ``/`` (``train/all_inputs``)."""


@dataclass(frozen=True)
class Step:
    """One step of the pipeline.

    Attributes:
        name: Unique name, e.g. ``collect``, ``train/all_inputs`` (``/`` becomes ``__`` in file names).
        argv: The ``dexsim`` arguments (what follows ``dexsim`` on the command line).
        outputs: Paths that exist once the step has finished (relative to the output directory or absolute).
        restart_clean: Paths removed before the step runs again after an interruption (partial artefacts that
            cannot be continued).
    """

    name: str
    argv: tuple[str, ...]
    outputs: tuple[str, ...] = ()
    restart_clean: tuple[str, ...] = ()

    @property
    def stage(self) -> str:
        """The stage the step belongs to (``collect``, ``filter``, ``train``, ``eval``)."""
        return self.name.split("/", 1)[0]

    @property
    def file_stem(self) -> str:
        return self.name.replace("/", "__")

    @property
    def display(self) -> str:
        """The command as a user types it."""
        return "dexsim " + shlex.join(self.argv)


class StepFailed(RuntimeError):
    """A step's command exited with an error or did not write its outputs."""


StepRunner = Callable[[Step, Path], int]
"""Runs a step's command with its output going to the log file; returns the exit status."""


def run_subprocess(step: Step, log: Path, *, echo: bool = True) -> int:
    """Run ``python -m dexsim.cli <argv>`` with this interpreter, output teed to ``log`` (and stdout)."""
    command = [sys.executable, "-m", "dexsim.cli", *step.argv]
    with log.open("a") as handle:
        handle.write(f"$ {step.display}\n")
        handle.flush()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert process.stdout is not None
        try:
            for line in process.stdout:
                handle.write(line)
                if echo:
                    sys.stdout.write(line)
                    sys.stdout.flush()
            return process.wait()
        except BaseException:
            process.terminate()  # Ctrl-C / kill of reproduce: stop the step too (its own resume logic applies)
            process.wait()
            raise


class Pipeline:
    """Runs steps in order, skipping finished ones.

    Args:
        out: Output directory of the run.
        steps: The steps in order.
        runner: Runs one step (default: :func:`run_subprocess`); tests substitute it.
        say: Where progress lines go.
    """

    def __init__(self, out: str | Path, steps: Sequence[Step], runner: StepRunner | None = None,
                 say: Callable[[str], None] = print) -> None:
        self.out = Path(out)
        self.steps = list(steps)
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique: {names}")
        self.runner = runner or run_subprocess
        self.say = say

    def marker_path(self, step: Step) -> Path:
        return self.out / MARKERS_DIR / f"{step.file_stem}.json"

    def log_path(self, step: Step) -> Path:
        return self.out / LOGS_DIR / f"{step.file_stem}.log"

    def _path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.out / path

    def marker(self, step: Step) -> dict[str, Any] | None:
        """The step's completion record, or ``None`` if it has not finished (or its outputs have gone since).

        Raises:
            ValueError: The step finished with a different command (the output directory belongs to other
                settings); names the step, both commands and the directory.
        """
        path = self.marker_path(step)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError:
            return None  # a torn marker: the step is run again
        if record.get("argv") != list(step.argv):
            raise ValueError(f"{self.out}: step {step.name} was run as `{record.get('command')}`, not "
                             f"`{step.display}`; use another --out for other settings")
        if not all(self._path(o).exists() for o in step.outputs):
            return None
        return record

    def pending(self) -> list[Step]:
        """Steps without a valid completion marker."""
        return [s for s in self.steps if self.marker(s) is None]

    def run(self, stages: Collection[str] | None = None) -> list[dict[str, Any]]:
        """Run every unfinished step; returns the completion records of the finished steps in step order.

        Args:
            stages: Run only the unfinished steps of these stages (e.g. ``{"train"}`` on a GPU machine, after
                ``collect`` and ``filter`` ran elsewhere); ``None``: every stage. Unfinished steps of a later stage
                are left for a later run; an unfinished step of an earlier stage is an error, since a selected step
                needs its outputs.

        Raises:
            StepFailed: A step exited with an error or its outputs are missing (the log is named).
            ValueError: ``stages`` names an unknown stage, or an earlier stage has not finished (named).
        """
        selected = set(self.stage_names() if stages is None else stages)
        unknown = sorted(selected - set(self.stage_names()))
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; this study's stages: {', '.join(self.stage_names())}")
        order = {name: index for index, name in enumerate(self.stage_names())}
        last_selected = max((order[name] for name in selected), default=-1)
        records = []
        for index, step in enumerate(self.steps, 1):
            record = self.marker(step)
            if record is not None:
                self.say(f"[{index}/{len(self.steps)}] {step.name}: done ({record['wall_s']:.0f} s), skipped")
                records.append(record)
            elif step.stage in selected:
                records.append(self._run_step(index, step))
            elif order[step.stage] < last_selected:
                raise ValueError(f"step {step.name} has not finished, and the selected stage(s) "
                                 f"{', '.join(sorted(selected, key=order.__getitem__))} need its outputs; run its "
                                 f"stage {step.stage!r} first (in {self.out})")
            else:
                self.say(f"[{index}/{len(self.steps)}] {step.name}: not selected, left for a later run")
        return records

    def stage_names(self) -> tuple[str, ...]:
        """The stages of these steps, in order of first appearance."""
        return tuple(dict.fromkeys(step.stage for step in self.steps))

    def finished(self) -> bool:
        """Every step has a valid completion marker."""
        return not self.pending()

    def _run_step(self, index: int, step: Step) -> dict[str, Any]:
        stale = self.marker_path(step)
        stale.unlink(missing_ok=True)
        for name in step.restart_clean:
            path = self._path(name)
            if path.is_dir():
                self.say(f"[{index}/{len(self.steps)}] {step.name}: removing the partial {path} of an interrupted run")
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        log = self.log_path(step)
        log.parent.mkdir(parents=True, exist_ok=True)
        self.say(f"[{index}/{len(self.steps)}] {step.name}: $ {step.display}")
        started = time.time()
        status = self.runner(step, log)
        wall = time.time() - started
        if status != 0:
            raise StepFailed(f"step {step.name} failed (exit status {status}); see {log}. Fix the cause and run the "
                             "same reproduce command again: finished steps are kept")
        missing = [o for o in step.outputs if not self._path(o).exists()]
        if missing:
            raise StepFailed(f"step {step.name} exited 0 but did not write {missing}; see {log}")
        record = {"step": step.name, "command": step.display, "argv": list(step.argv), "exit_status": status,
                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "wall_s": wall}
        marker = self.marker_path(step)
        marker.parent.mkdir(parents=True, exist_ok=True)
        temporary = marker.with_name(marker.name + ".tmp")
        temporary.write_text(json.dumps(record, indent=1) + "\n")
        os.replace(temporary, marker)
        return record
