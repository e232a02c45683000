# Python with 8 threads (threading): each computes a checksum over its own
# range; results are stored by index and printed in order, a Lock-protected
# counter and a queue.Queue producer/consumer pair are checked too.
import queue
import threading

N = 8
results = [None] * N
counter = 0
lock = threading.Lock()
barrier = threading.Barrier(N)


def work(i):
    global counter
    barrier.wait()                      # all 8 start together
    s = 0
    for k in range(250000):
        s = (s * 31 + k * (i + 1)) % 1000000007
        if k % 1000 == 0:
            with lock:
                counter += 1
    results[i] = s


threads = [threading.Thread(target=work, args=(i,)) for i in range(N)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for i, r in enumerate(results):
    print(f"thread {i}: {r}")
print(f"lock-protected counter: {counter}")

q = queue.Queue(maxsize=16)
got = []


def producer():
    for i in range(2000):
        q.put(i * i)
    q.put(None)


def consumer():
    while (item := q.get()) is not None:
        got.append(item)


p, c = threading.Thread(target=producer), threading.Thread(target=consumer)
c.start()
p.start()
p.join()
c.join()
print(f"queue: {len(got)} items, sum {sum(got)}, in order {got == sorted(got)}")
print(f"threads alive at the end: {threading.active_count()}")
