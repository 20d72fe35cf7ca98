"""The benchmark suite: `make bench` runs every module named in `suite.MODULES` and prints one table.

The contract a benchmark module keeps:

    def rows(bench: benchmarks.suite.Bench) -> list[dict]:
        return [{"row": "…", "goal": "…", "measured": "…", "ratio": "…" or "", "passed": True}]

- `row` names what is measured (one line of the issue's table, or a part of it), `goal` states the
  target in words and figures ("≥ 30% of the raw floor"), `measured` is the median of
  `bench.runs` runs with its unit, `ratio` is the figure compared with the raw floor measured in
  the same run (`bench.floor_rate()`), or "" where the goal is not a ratio; `passed` says whether
  the goal is met. `benchmarks.suite.row(...)` builds one.
- The module works on the database the suite prepared (PostgreSQL, migrated and filled by
  `seed_scale`); `bench` gives the shared pieces: `median(fn)` (seconds, median of `bench.runs`),
  `floor_rate()` (raw journals/s, measured once per run), `hot_membership()`, `small_membership()`,
  `treasurer(chama)`, `client(user)` (a logged-in test client) and `quiet` (a stream for
  commands' output). What it writes stays consistent: it posts through the services or, for
  the raw floor, keeps balances and `balance_after` right, so `reconcile_balances` finds no drift.
- A module may also be a script (`python benchmarks/<name>.py`) for its own, longer report.
"""
