"""Tests of dexsim.real (a package, so that test_env.py / test_cli.py do not clash with tests/sim and tests/data)."""
