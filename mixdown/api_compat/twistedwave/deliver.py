"""``python -m mixdown.api_compat.twistedwave.deliver STORE URL ATTEMPTS BACKOFF FACTOR MAX_DELAY TIMEOUT``:
the process a command line job hands its webhook outbox to (:meth:`Notifier.deliver_detached`), so the
command exits at once while the notifications are tried, with backoff, until delivered or given up."""

from __future__ import annotations

import sys

from mixdown.api_compat.twistedwave.notify import Notifier, Webhook
from mixdown.api_compat.twistedwave.store import Store


def main(argv: list[str]) -> int:
    folder, url, attempts, backoff, factor, max_delay, timeout = argv
    webhook = Webhook(url, int(attempts), float(backoff), float(factor), float(max_delay), float(timeout))
    try:
        Notifier(Store(folder, create=False), webhook).deliver(wait=True)
    except Exception:  # nobody reads this process's output; the outbox keeps what was not sent
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
