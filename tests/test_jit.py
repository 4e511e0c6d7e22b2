"""dexsim._jit: compiled kernels work where numba cannot write its cache."""

import pytest

numba = pytest.importorskip("numba")


def test_compiles_without_a_cache_where_none_can_be_written(monkeypatch):
    # A read-only install with no writable home: numba raises RuntimeError("cannot cache function ...: no locator
    # available") when a cached function is decorated. The helper then compiles without the cache.
    from dexsim import _jit

    original = numba.njit

    def njit_without_cache_locations(*args, **options):
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return original(*args, **options)

    monkeypatch.setattr(_jit.numba, "njit", njit_without_cache_locations)

    @_jit.compiled(error_model="numpy")
    def ratio(a: float, b: float) -> float:
        return a / b

    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 0.0) == float("inf")  # the options still reach numba
