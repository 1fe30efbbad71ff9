"""bench/lb_modes.py: reading wrk's output and the results table (no network needed)."""

from __future__ import annotations

import pytest

from bench.lb_modes import BenchError, WrkResult, parse_wrk, results_table

WRK_OUTPUT = """\
Running 2s test @ http://10.0.0.100/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.05ms  777.89us   1.07s    68.08%
  Latency Distribution
     50%  850.00us
     75%    2.53ms
     90%    2.94ms
     99%    1.07s
  1900 requests in 2.00s, 5.23MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:    949.00
Transfer/sec:      2.61MB
"""


def test_parse_wrk_reads_rate_percentiles_in_ms_and_all_errors() -> None:
    assert parse_wrk(WRK_OUTPUT) == WrkResult(949.0, 0.85, 1070.0, 9)


def test_parse_wrk_rejects_output_without_a_rate() -> None:
    with pytest.raises(BenchError, match="Requests/sec"):
        parse_wrk("unable to connect to 10.0.0.100:80 Connection refused\n")


def test_results_table_gives_ratios_against_direct() -> None:
    direct = WrkResult(1000.0, 1.0, 2.0, 0)
    half = WrkResult(500.0, None, None, 1)
    lines = results_table({"direct": (direct, direct), "nat": (half, direct)}).splitlines()
    assert lines[2].split() == ["direct", "1000.0", "1.00", "1.00", "2.00", "1000.0", "1.00", "0"]
    assert lines[3].split() == ["nat", "500.0", "0.50", "-", "-", "1000.0", "1.00", "1"]
