"""De-duplication throughput against the number of parallel tasks on one machine, and the
overhead of Ray over the direct call.

    python python/benchmarks/dedup_shards.py [--subjects 3000] [--workers 1,2] [--block 256] [--shards 1,3]

Enrols synthetic people (fingers 1 and 6) with planted duplicates (another impression of every
50th person under a new id) into one gallery, times `Gallery.dedup` (the direct call, the
engine's threads on every core), then `ridgeline.distributed.dedup` on a local Ray instance of
`k` CPUs for each `k` of `--workers`, with one engine thread per task (RAYON_NUM_THREADS=1 in
the workers), so that `k` is the number of tasks working at once. Every distributed report is
checked equal to the direct one (clusters, flags, statistics other than timings) before its
time counts. With `--shards`, the population is also split over that many galleries and the
shards are de-duplicated as one population on the most workers (pairs compared and clusters
checked equal to the one gallery's). Prints one JSON object.
"""

import argparse
import json
import os
import platform
import tempfile
import time

import ray

import ridgeline
from ridgeline.distributed import dedup

SEED = 91
TIMING = {"search_seconds", "pairs_compared_per_second", "ms_per_record", "total_seconds"}


def results(report):
    return (report["clusters"], report["flags"], {k: v for k, v in report["stats"].items() if k not in TIMING})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=3000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--block", type=int, default=256)
    parser.add_argument("--shards", default="",
                        help="also split the population over this many galleries each (e.g. 1,3) "
                             "and de-duplicate the shards as one population, on the most workers")
    args = parser.parse_args()
    t = ridgeline.synthetic_template
    records = [(f"s{i}", {1: t(SEED, i), 6: t(SEED, 100_000 + i)}) for i in range(args.subjects)]
    records += [(f"dup{i}", {1: t(SEED, i, 1), 6: t(SEED, 100_000 + i, 1)}) for i in range(0, args.subjects, 50)]
    out = {
        "subjects": len(records),
        "planted": len(range(0, args.subjects, 50)),
        "block_records": args.block,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average_before": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "population")
        with ridgeline.Gallery.create(path) as g:
            g.enroll_many(records)
            began = time.perf_counter()
            direct = g.dedup(1e-4)
            out["direct_s"] = time.perf_counter() - began
        out["pairs_compared"] = direct["stats"]["pairs_compared"]
        out["clusters"] = direct["stats"]["clusters"]
        for k in [int(w) for w in args.workers.split(",")]:
            ray.init(num_cpus=k, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"RAYON_NUM_THREADS": "1"}})
            try:
                began = time.perf_counter()
                report = dedup(path, os.path.join(tmp, f"job{k}"), 1e-4, block_records=args.block)
                seconds = time.perf_counter() - began
            finally:
                ray.shutdown()
            assert results(report) == results(direct), f"{k} workers: another report"
            out[f"ray_{k}_workers_s"] = seconds
            with open(os.path.join(tmp, f"job{k}", "done.jsonl"), encoding="utf-8") as f:
                entries = [json.loads(line) for line in f]
            # Time spent inside the tasks (opening the gallery and building its index in a
            # worker's first task included): the rest of the wall time is Ray and the driver.
            for stage in ("candidates", "scores"):
                out[f"ray_{k}_workers_{stage}_task_s"] = round(
                    sum(e["seconds"] for e in entries if e["stage"] == stage), 2)
            out[f"ray_{k}_workers_pairs_per_s"] = round(out["pairs_compared"] / seconds)
        # The same population split over `s` galleries (record j in shard j mod s), searched as
        # one population: the pairs compared and the clusters are the one gallery's.
        workers = max(int(w) for w in args.workers.split(","))
        for shards in [int(x) for x in args.shards.split(",") if x]:
            paths = [os.path.join(tmp, f"shards{shards}", str(k)) for k in range(shards)]
            for k, shard in enumerate(paths):
                os.makedirs(os.path.dirname(shard), exist_ok=True)
                with ridgeline.Gallery.create(shard) as g:
                    g.enroll_many(records[k::shards])
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"RAYON_NUM_THREADS": "1"}})
            try:
                began = time.perf_counter()
                report = dedup(paths, os.path.join(tmp, f"shardjob{shards}"), 1e-4,
                               block_records=args.block)
                seconds = time.perf_counter() - began
            finally:
                ray.shutdown()
            assert report["stats"]["pairs_compared"] == out["pairs_compared"], f"{shards} shards"
            assert report["stats"]["clusters"] == out["clusters"], f"{shards} shards"
            out[f"shards_{shards}_ray_{workers}_workers_s"] = seconds
            out[f"shards_{shards}_ray_{workers}_workers_pairs_per_s"] = round(out["pairs_compared"] / seconds)
        out["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
