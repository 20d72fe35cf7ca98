"""`make loadtest`: gunicorn on a free port of 127.0.0.1, locust against it headless, then both stopped.

    make loadtest                                   # 60 s, 60 users; DATABASE_URL as for make bench
    make loadtest LOADTEST_TIME=30s LOADTEST_ARGS="--users 100"

The database is prepared as for the suite (migrated, seeded by seed_scale the first time). A pool of
members and treasurers of a few chamas is logged in through the JWT API (outside the measured
window: a login hashes the password on purpose), each treasurer's chama gets a meeting for its
collection sheets, and gunicorn serves production settings (DEBUG off) with
`config/gunicorn.conf.py` when there is one, else `--workers 2 × CPUs + 1`. Prints requests/s and
p50/p95/p99 of the whole mix and of each route; the goal is ≥ 200 requests/s with p95 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import suite  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own server
        return json.load(response)


def pool(chamas: int, members: int) -> tuple[list[dict], list[dict]]:
    """(members, treasurers) to log in: `members` plain members of each of `chamas` chamas, and their
    treasurers, each with a meeting; a treasurer's payments and collection sheets are for every
    member of the chama (a sheet has a row for each)."""
    from django.utils import timezone

    from finance.models import Account
    from groups.models import Chama, Membership
    from meetings.services import meeting_create

    people, treasurers = [], []
    for chama in Chama.objects.order_by("pk")[:chamas]:
        everyone = list(Membership.objects.filter(chama=chama).order_by("pk").values_list("pk", flat=True))
        plain = list(Membership.objects.filter(chama=chama, role="member").select_related("user")[:members])
        savings = dict(Account.objects.filter(chama=chama, purpose="member_savings").values_list("membership_id", "pk"))
        for m in plain:
            people.append({"phone": str(m.user.phone_number), "chama": chama.pk, "account": savings[m.pk]})
        chair = Membership.objects.get(chama=chama, role="chairperson").user
        treasurer = Membership.objects.get(chama=chama, role="treasurer").user
        meeting = meeting_create(
            chama=chama, by=chair, title="Load test", starts_at=timezone.now() - timedelta(hours=1)
        )
        treasurers.append(
            {
                "phone": str(treasurer.phone_number),
                "chama": chama.pk,
                "meeting": meeting.pk,
                "members": everyone,
            }
        )
    return people, treasurers


def server_command(port: int) -> list[str]:
    config = ROOT / "config" / "gunicorn.conf.py"
    command = [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    if config.exists():
        return [*command, "--config", str(config)]
    return [*command, "--workers", str(2 * (os.cpu_count() or 1) + 1), "--access-logfile", "-"]


def wait_for(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn stopped (exit {server.returncode}); see the output above.")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    sys.exit("gunicorn did not answer in time.")


def report(stats_csv: Path) -> dict:
    with open(stats_csv) as stats_file:
        lines = list(csv.DictReader(stats_file))
    print(f"\n{'route':<40} {'requests':>9} {'fails':>6} {'req/s':>8} {'p50':>6} {'p95':>6} {'p99':>6}  (ms)")
    for line in lines:
        name = line["Name"] if line["Name"] != "Aggregated" else "all (mixed)"
        print(
            f"{(line['Type'] + ' ' + name).strip():<40} {line['Request Count']:>9} {line['Failure Count']:>6} "
            f"{float(line['Requests/s']):>8.1f} {line['50%']:>6} {line['95%']:>6} {line['99%']:>6}"
        )
    return next(line for line in lines if line["Name"] == "Aggregated")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=60, help="Concurrent locust users.")
    parser.add_argument("--chamas", type=int, default=8, help="Chamas whose people take part.")
    parser.add_argument("--members", type=int, default=5, help="Members logged in per chama.")
    parser.add_argument("--time", default=os.environ.get("LOADTEST_TIME", "60s"))
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop gunicorn on the way out
    suite.setup()
    suite.seed()
    people, treasurers = pool(args.chamas, args.members)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on the loopback: TLS ends at the proxy in production
        "SECURE_HSTS_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    print(f"starting gunicorn on {base}: {' '.join(server_command(port)[1:])}")
    server = subprocess.Popen(server_command(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for(f"{base}/admin/login/", server)
        from finance.management.commands.seed_scale import DEFAULT_PASSWORD

        password = os.environ.get("LOADTEST_PASSWORD", DEFAULT_PASSWORD)

        def log_in(person):
            tokens = post_json(f"{base}/api/v1/auth/token/", {"login": person["phone"], "password": password})
            person["access"] = tokens["access"]

        with ThreadPoolExecutor(max_workers=4) as logins:
            list(logins.map(log_in, [*people, *treasurers]))
        print(f"logged in {len(people)} members and {len(treasurers)} treasurers through the JWT API")
        with tempfile.TemporaryDirectory() as work:
            users = Path(work) / "users.json"
            users.write_text(json.dumps({"members": people, "treasurers": treasurers}))
            command = [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "benchmarks" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(max(1, args.users // 5)),
                "--run-time",
                args.time,
                "--host",
                base,
                "--csv",
                str(Path(work) / "load"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ]
            print(f"locust: {args.users} users for {args.time} (members 4 : treasurers 1)")
            subprocess.run(command, env={**os.environ, "LOADTEST_USERS": str(users)}, check=False)
            total = report(Path(work) / "load_stats.csv")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    rate, p95 = float(total["Requests/s"]), float(total["95%"])
    met = rate >= 200 and p95 <= 100 and int(total["Failure Count"]) == 0
    print(
        f"\nmixed load: {rate:.0f} requests/s, p50 {total['50%']} ms, p95 {total['95%']} ms, p99 {total['99%']} ms, "
        f"{total['Failure Count']} failures — goal ≥ 200 requests/s with p95 ≤ 100 ms: {'met' if met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
