"""Refresh speed: 500 unchanged sources (all answer 304) on 25 loopback hosts, one by one vs `fetch_many`.

Each host is its own local server on 127.0.0.2 .. 127.0.0.26 (all loopback on Linux), every response is
delayed 20 ms, and per_host_interval is 0.05 s: realistic politeness (20 requests/s per host at most),
small enough to run in seconds. Run: python benchmarks/bench_fetch.py [--sources 500] [--hosts 25]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scrapers.adapters import SourceSpec, fetch_many, fetch_source
from scrapers.capture import FetchError
from scrapers.http import FetchContext
from tests.fakeweb import FakeWeb, Reply

PAGE = "<html><body><main><h1>Source {n}</h1><p>Version 1.{n}. We will evaluate every model.</p></main></body></html>"


def make_context(interval: float) -> FetchContext:
    return FetchContext(
        user_agent="CommitmentTracker-bench/0.1", connect_timeout=2, read_timeout=5, retries=1, backoff=0.01,
        per_host_interval=interval,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=25)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=25)
    args = parser.parse_args()

    servers = [FakeWeb(f"127.0.0.{2 + h}").start() for h in range(args.hosts)]
    try:
        specs: list[SourceSpec] = []
        for n in range(args.sources):  # catalog order interleaves hosts, so sequential fetching never waits
            web = servers[n % args.hosts]
            web.route(f"/doc{n}", Reply(body=PAGE.format(n=n).encode(), etag=f'"v{n}"', delay=args.delay))
            specs.append(SourceSpec(f"src-{n}", web.url(f"/doc{n}"), "html"))
        validators = {spec.id: (f'"v{n}"', None) for n, spec in enumerate(specs)}

        with make_context(args.interval) as ctx:  # warm robots.txt caches so both runs do the same requests
            for web in servers:
                ctx.robots_allowed(web.url("/"))
            started = time.perf_counter()
            sequential = [fetch_source(ctx, spec, *validators[spec.id]) for spec in specs]
            sequential_s = time.perf_counter() - started
            time.sleep(args.interval)
            started = time.perf_counter()
            concurrent = list(fetch_many(ctx, specs, validators, max_workers=args.workers))
            concurrent_s = time.perf_counter() - started
    finally:
        for web in servers:
            web.stop()

    assert all(capture.not_modified for capture in sequential)
    failures = [outcome for _, outcome in concurrent if isinstance(outcome, FetchError)]
    assert not failures, failures[:3]
    assert all(outcome.not_modified for _, outcome in concurrent)
    floor = (args.sources / args.hosts - 1) * max(args.interval, args.delay) + args.delay
    rows = [
        ("one by one (fetch_source)", sequential_s, 1.0),
        (f"fetch_many, {args.workers} workers", concurrent_s, sequential_s / concurrent_s),
    ]
    print(f"{args.sources} sources on {args.hosts} hosts, {args.delay * 1000:.0f} ms per response, all 304; "
          f"per_host_interval {args.interval} s (politeness floor for fetch_many ~ {floor:.2f} s)")
    print(f"{'mode':<30} {'seconds':>8} {'sources/s':>10} {'speed-up':>9}")
    for name, seconds, ratio in rows:
        print(f"{name:<30} {seconds:>8.2f} {args.sources / seconds:>10.1f} {ratio:>8.1f}x")


if __name__ == "__main__":
    main()
