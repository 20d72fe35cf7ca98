"""Real threads released together, each on its own database connection."""

import threading

from django.db import connection


def run_at_once(work, count):
    """Run `work(i)` in `count` threads released together; return ({i: result}, {i: exception})."""
    barrier = threading.Barrier(count)
    results, errors = {}, {}

    def target(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the test
            errors[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
