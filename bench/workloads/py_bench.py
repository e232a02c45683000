"""lurk benchmark: pure-Python interpreter workload.

Function calls, small objects, dict/list manipulation, string formatting.
Deterministic: no hashing-order dependence in the output (dicts keep
insertion order; sets are never iterated for output).
Usage: python3 py_bench.py [SCALE]
"""
import sys


class Node:
    __slots__ = ("key", "left", "right")

    def __init__(self, key):
        self.key = key
        self.left = None
        self.right = None


def insert(root, key):
    if root is None:
        return Node(key)
    node = root
    while True:
        if key < node.key:
            if node.left is None:
                node.left = Node(key)
                return root
            node = node.left
        else:
            if node.right is None:
                node.right = Node(key)
                return root
            node = node.right


def depth(node):
    if node is None:
        return 0
    return 1 + max(depth(node.left), depth(node.right))


def lcg(seed):
    while True:
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        yield seed


def word_of(n):
    letters = "etaoinshrdlucmfwyp"
    out = []
    while n:
        n, r = divmod(n, len(letters))
        out.append(letters[r])
    return "".join(out)


def collatz_len(n, cache):
    steps = 0
    m = n
    while m != 1 and m not in cache:
        m = m // 2 if m % 2 == 0 else 3 * m + 1
        steps += 1
    total = steps + cache.get(m, 0)
    cache[n] = total
    return total


def main():
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rng = lcg(42)
    counts = {}
    root = None
    acc = 0
    for i in range(60000 * scale):
        v = next(rng)
        w = word_of(v % 5000)
        counts[w] = counts.get(w, 0) + 1
        if i % 3 == 0:
            root = insert(root, v % 1000003)
        acc = (acc + len(w) * (v & 0xFF)) % 1000000007
    cache = {1: 0}
    best = (0, 0)
    for n in range(1, 120000 * scale):
        c = collatz_len(n, cache)
        if c > best[1]:
            best = (n, c)
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    fmt = ["%s:%d" % kv for kv in top]
    print("words", len(counts), " ".join(fmt))
    print("tree depth", depth(root))
    print("acc", acc)
    print("collatz", best[0], best[1], len(cache))


if __name__ == "__main__":
    main()
