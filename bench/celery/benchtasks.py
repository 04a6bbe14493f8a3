"""Celery side of the CNS benchmark: the same two tasks as the Go systems, on a Redis broker.

The broker URL comes from CNS_BENCH_BROKER. Tasks are acknowledged after they run (acks_late, as CNS
acknowledges a command after its job ended) and keep no result (ignore_result), so the queue and the
worker are all that is measured.
"""
import hashlib
import os

from celery import Celery

app = Celery("benchtasks", broker=os.environ.get("CNS_BENCH_BROKER", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_acks_late=True,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
)

BLOCK = bytes(64 * 1024)


@app.task(name="noop")
def noop():
    return None


@app.task(name="cpu")
def cpu():
    # 20 x SHA-256 of 64 KB, as bench/commands.go cpuTask.
    for _ in range(20):
        hashlib.sha256(BLOCK).digest()
