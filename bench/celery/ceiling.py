"""The CPU task back to back in P processes with nothing else: Python's compute ceiling on this machine.

usage: ceiling.py N P  (prints tasks/s)
"""
import sys
import time
from multiprocessing import Pool

from benchtasks import cpu


def run(_):
    cpu.run()


n, p = int(sys.argv[1]), int(sys.argv[2])
with Pool(p) as pool:
    pool.map(run, range(p))  # warm the processes
    start = time.perf_counter()
    pool.map(run, range(n), chunksize=max(1, n // (p * 8)))
    print(f"{n / (time.perf_counter() - start):.1f}")
