"""Identification latency against the number of shards on one machine, and the overhead of
Ray over the direct call.

    python python/benchmarks/shard_latency.py [--records 20000] [--probes 40] [--shards 1,2,3]

Enrols the same synthetic records (one finger each) into one gallery and into sharded
galleries on a local Ray instance, then times `identify` of mated probes (another impression
of an enrolled finger) and walk-ins (never enrolled, so the search escalates), each figure the
median over the probes after one warm-up search. Every answer is checked against the single
gallery's. Prints one JSON object.
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time

import ray

import ridgeline
from ridgeline.distributed import ShardedGallery

SEED = 77


def timed(search, probes):
    search(probes[0])  # warm-up: maps segments, builds coarse descriptors
    times, answers = [], []
    for p in probes:
        start = time.perf_counter()
        found = search(p)
        times.append(1000 * (time.perf_counter() - start))
        answers.append(([(c.id, c.finger, c.score) for c in found.candidates], found.matched))
    return statistics.median(times), answers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--shards", default="1,2,3")
    args = parser.parse_args()
    shard_counts = [int(s) for s in args.shards.split(",")]
    records = [(f"s{f}", {1: ridgeline.synthetic_template(SEED, f)}) for f in range(args.records)]
    step = max(1, args.records // args.probes)
    mated = [{1: ridgeline.synthetic_template(SEED, f, 1)} for f in range(0, args.records, step)][: args.probes]
    walk_ins = [{1: ridgeline.synthetic_template(SEED + 1, f)} for f in range(args.probes // 4 or 1)]
    out = {
        "records": args.records,
        "probes": len(mated),
        "walk_ins": len(walk_ins),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        one = ridgeline.Gallery.create(os.path.join(tmp, "one"))
        one.enroll_many(records)
        out["direct_mated_ms"], expected_mated = timed(lambda p: one.identify(p), mated)
        out["direct_walk_in_ms"], expected_walk = timed(lambda p: one.identify(p), walk_ins)
        ray.init(num_cpus=max(shard_counts), include_dashboard=False, log_to_driver=False)
        try:
            for k in shard_counts:
                dirs = [os.path.join(tmp, f"k{k}", f"shard{i}") for i in range(k)]
                g = ShardedGallery.create(dirs)
                try:
                    g.enroll_many(records)
                    ms, got = timed(lambda p: g.identify(p), mated)
                    assert got == expected_mated, f"{k} shards answered differently"
                    out[f"ray_{k}_shards_mated_ms"] = ms
                    ms, got = timed(lambda p: g.identify(p), walk_ins)
                    assert got == expected_walk, f"{k} shards answered differently (walk-ins)"
                    out[f"ray_{k}_shards_walk_in_ms"] = ms
                finally:
                    g.close()
        finally:
            ray.shutdown()
        one.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
