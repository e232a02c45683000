# Pure-Python workload (~1-2 s natively): dict/str/list heavy, deterministic.
# Prints intermediate facts and a final checksum.  No set/dict-of-str
# iteration order is printed (str hashing is randomized per process).
import zlib


def lcg(seed):
    while True:
        seed = (seed * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        yield seed >> 33


def words(n, rng):
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(n):
        k = 3 + next(rng) % 6
        out.append("".join(alphabet[next(rng) % 26] for _ in range(k)))
    return out


def main():
    rng = lcg(2024)
    ws = words(260000, rng)
    counts = {}
    for w in ws:
        counts[w] = counts.get(w, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    print("distinct words:", len(counts))
    print("top:", top)

    # string building, slicing, formatting
    text = " ".join(ws)
    print("text length:", len(text), "crc:", zlib.crc32(text.encode()))
    rev = "".join(reversed(text[:100000]))
    pal = sum(1 for w in ws if w == w[::-1])
    print("palindromes:", pal, "rev crc:", zlib.crc32(rev.encode()))
    caps = [w.upper() if i % 3 == 0 else w.title() for i, w in enumerate(ws[:50000])]
    print("formatted:", "|".join("{:>6}".format(c) for c in caps[:8]))

    # list ops: sort with keys, comprehensions, bisect-like search
    nums = [next(rng) % 1000003 for _ in range(200000)]
    nums.sort()
    sq = [x * x % 65537 for x in nums if x & 1]
    print("nums:", nums[0], nums[len(nums) // 2], nums[-1], "odd squares sum:", sum(sq))

    # dict of lists / grouping, tuple keys, int arithmetic
    groups = {}
    for i, w in enumerate(ws):
        groups.setdefault((len(w), w[0]), []).append(i)
    sizes = sorted((k, len(v)) for k, v in groups.items())
    print("groups:", len(groups), sizes[:3], sizes[-3:])

    # class instances and method calls
    class Acc:
        __slots__ = ("total", "n")

        def __init__(self):
            self.total = 0
            self.n = 0

        def add(self, v):
            self.total = (self.total * 31 + v) % (1 << 61)
            self.n += 1

    acc = Acc()
    for i in range(2500000):
        acc.add(i ^ (i >> 3))
    print("acc:", acc.n, acc.total)

    # big ints and exceptions
    f = 1
    for i in range(1, 1000):
        f *= i
    print("999! digits:", len(str(f)), "digit sum:", sum(int(c) for c in str(f)))
    errs = 0
    for i in range(200000):
        try:
            if i % 7 == 0:
                raise ValueError(i)
            _ = {"a": 1}["b" if i % 11 == 0 else "a"]
        except (ValueError, KeyError):
            errs += 1
    print("exceptions caught:", errs)

    h = zlib.crc32(repr((top, sizes, acc.total, len(counts), sum(sq), errs)).encode())
    print("checksum: %08x" % h)


main()
