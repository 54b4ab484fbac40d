"""The Python half of `bench -- ffi`: times listing the issues of a ledger through the bindings, and one
call round trip, then prints one JSON object. Usage: bench_ffi.py LEDGER ROUNDS CALLS"""

import json
import statistics
import sys
import time

import rectify as r


def main():
    path, rounds, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    device = r.Device.open(path)
    count = len(device.list())
    for _ in range(3):  # warm the allocator and SQLite's cache, as a running app would have
        device.list()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        device.list()
        times.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    for _ in range(calls):
        r.library_version()
    call_ns = (time.perf_counter() - started) * 1e9 / calls
    job = device.sync_job(None, None, None)
    started = time.perf_counter()
    for _ in range(calls):
        job.is_cancelled()
    method_ns = (time.perf_counter() - started) * 1e9 / calls
    print(json.dumps({"issues": count, "list_ms_median": statistics.median(times), "call_ns": call_ns,
                      "method_ns": method_ns}))


if __name__ == "__main__":
    main()
