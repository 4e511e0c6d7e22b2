"""``dexsim reproduce``: the paper's seven-policy study (Fig. 6) in the twin with one resumable command.

Modules: ``scales`` (the size table), ``steps`` (commands with completion markers), ``plan`` (the study as
commands), ``report`` (report.md and the chart), ``cli``.
"""
