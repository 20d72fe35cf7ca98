"""The mixed load of `make loadtest`: members read balances, statements, journals and dues; treasurers
post payments and, now and then, a meeting's collection sheet. Logged-in users come from the file
LOADTEST_USERS names (written by benchmarks/loadtest.py, which logged them in through the JWT API)."""

import json
import os
import random
import uuid

from locust import HttpUser, between, task

with open(os.environ["LOADTEST_USERS"]) as users_file:
    POOL = json.load(users_file)


class Member(HttpUser):
    weight = 4
    wait_time = between(0.05, 0.2)

    def on_start(self):
        self.me = random.choice(POOL["members"])
        self.client.headers["Authorization"] = f"Bearer {self.me['access']}"
        self.base = f"/api/v1/chamas/{self.me['chama']}"

    @task(3)
    def balances(self):
        self.client.get(f"{self.base}/my/accounts/", name="my/accounts/")

    @task(2)
    def statement(self):
        self.client.get(f"{self.base}/my/accounts/{self.me['account']}/statement/", name="my/accounts/{id}/statement/")

    @task(1)
    def journals(self):
        self.client.get(f"{self.base}/my/journals/", name="my/journals/")

    @task(1)
    def dues(self):
        self.client.get(f"{self.base}/my/dues/", name="my/dues/")


class Treasurer(HttpUser):
    weight = 1
    wait_time = between(0.1, 0.4)

    def on_start(self):
        self.me = random.choice(POOL["treasurers"])
        self.client.headers["Authorization"] = f"Bearer {self.me['access']}"
        self.base = f"/api/v1/chamas/{self.me['chama']}"

    @task(10)
    def payment(self):
        self.client.post(
            f"{self.base}/payments/",
            json={"membership": random.choice(self.me["members"]), "amount": "500.00", "method": "cash"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
            name="payments/",
        )

    @task(1)
    def collection_sheet(self):
        rows = [{"membership": m, "contribution": "500.00"} for m in self.me["members"]]
        self.client.post(
            f"{self.base}/meetings/{self.me['meeting']}/collection-sheet/",
            json={"method": "cash", "rows": rows},
            headers={"Idempotency-Key": uuid.uuid4().hex},
            name="meetings/{id}/collection-sheet/",
        )
