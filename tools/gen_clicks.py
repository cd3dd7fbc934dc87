#!/usr/bin/env python3
"""Generates a deterministic clickstream as JSON lines, for the demo, tests and benchmarks.

Each line is one event:
  {"user_id":"u42","product_id":"p7","event_type":"view","timestamp_ms":1700000000123}

Event time moves forward at --rate events per second. Users are drawn with a
skew (a few heavy users, a long tail), so each user's events come in bursts
separated by quiet spells: session windows have real boundaries. About 30 % of
events are shifted back by up to --jitter-ms (out of order), and --late-frac of
them by one to four hours (late for any reasonable watermark).

The same arguments always give the same bytes, so a test can generate its input
again instead of storing it.

usage: gen_clicks.py N [--users U] [--seed S] [--jitter-ms J] [--late-frac F]
                       [--start-ms T] [--rate R]
"""
import argparse
import random
import sys

HOUR_MS = 3_600_000
OUT_OF_ORDER_FRACTION = 0.3
PRODUCTS = 50_000
# 80 % views, 15 % add_to_cart, 5 % purchases, picked by a uniform draw over 100 slots.
EVENT_TYPES = ["view"] * 80 + ["add_to_cart"] * 15 + ["purchase"] * 5
FLUSH_LINES = 10_000


def parse_args(argv):
    p = argparse.ArgumentParser(description="Write N generated click events as JSON lines to stdout.")
    p.add_argument("n", type=int, help="number of events")
    p.add_argument("--users", type=int, default=100_000, help="distinct users (default 100000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--jitter-ms", type=int, default=20_000,
                   help="largest out-of-order delay in ms (default 20000)")
    p.add_argument("--late-frac", type=float, default=0.001,
                   help="fraction of events delayed by 1-4 hours (default 0.001)")
    p.add_argument("--start-ms", type=int, default=1_700_000_000_000,
                   help="event time of the first event, ms since the epoch")
    p.add_argument("--rate", type=float, default=200.0,
                   help="events per second of event time (default 200)")
    a = p.parse_args(argv)
    if a.n < 0 or a.users < 1 or a.rate <= 0 or a.jitter_ms < 0 or not 0 <= a.late_frac <= 1:
        p.error("N >= 0, --users >= 1, --rate > 0, --jitter-ms >= 0 and 0 <= --late-frac <= 1")
    return a


def events(a):
    """Yields the lines in order; the draws per event are fixed so a seed fixes the output."""
    rng = random.Random(a.seed)
    step_ms = 1000.0 / a.rate
    clock = float(a.start_ms)
    for _ in range(a.n):
        clock += step_ms
        user = int(a.users * (rng.random() ** 2.5))
        ts = int(clock)
        draw = rng.random()
        if draw < a.late_frac:
            ts -= rng.randint(HOUR_MS, 4 * HOUR_MS)
        elif draw < OUT_OF_ORDER_FRACTION:
            ts -= rng.randint(0, a.jitter_ms)
        product = rng.randint(0, PRODUCTS)
        kind = EVENT_TYPES[rng.randint(0, len(EVENT_TYPES) - 1)]
        yield '{"user_id":"u%d","product_id":"p%d","event_type":"%s","timestamp_ms":%d}\n' % (
            user, product, kind, ts)


def main(argv):
    a = parse_args(argv)
    out = sys.stdout
    chunk = []
    try:
        for line in events(a):
            chunk.append(line)
            if len(chunk) == FLUSH_LINES:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))
        out.flush()
    except BrokenPipeError:  # `gen_clicks.py N | head` is fine
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
