"""Enqueue N Celery tasks of a kind into a queue, as fast as one Python producer can: used to fill a
staging queue that the harness then renames to the queue the worker reads, so the drain is timed alone.

usage: enqueue.py KIND N QUEUE  (prints the enqueue rate in tasks/s)
"""
import sys
import time

from benchtasks import app

kind, n, queue = sys.argv[1], int(sys.argv[2]), sys.argv[3]
task = app.tasks[kind]
start = time.perf_counter()
with app.producer_or_acquire() as producer:
    for _ in range(n):
        task.apply_async(queue=queue, producer=producer)
print(f"{n / (time.perf_counter() - start):.1f}")
