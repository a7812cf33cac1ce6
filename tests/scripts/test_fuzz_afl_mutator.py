#!/usr/bin/env python3
"""targets/afl_mutator.c, the AFL++ custom mutator library, loaded as afl-fuzz loads it
(dlopen, then afl_custom_init / afl_custom_fuzz / afl_custom_describe / afl_custom_deinit) from
this build (every preset builds afl_mutator.so, without sanitizers). Checks: what it returns
fits AFL++'s contract (a buffer of at most max_size bytes, and at most the 4096 of
fuzz_heap.options' max_len), it mutates, it is deterministic for a seed, it splices when given
a second input, and every output is a program in canonical form (whole ops: `heapfuzz print`
then `heapfuzz asm` gives the same bytes), which byte-level mutation would rarely keep."""

import ctypes
import glob
import os
import subprocess
import tempfile
import unittest

from fuzz_helpers import BUILD, skip_exit, unittest_main

LIBRARY = os.path.join(BUILD, "targets", "afl_mutator.so")
HEAPFUZZ = os.path.join(BUILD, "heapfuzz")
SEEDS = sorted(glob.glob(os.path.join(BUILD, "corpus", "fuzz_heap", "*.bin")))
MAX_LEN = 4096


class Mutator:
    def __init__(self, lib, seed):
        self.lib = lib
        self.state = lib.afl_custom_init(None, seed)
        assert self.state

    def fuzz(self, data, add=None, max_size=1 << 20):
        buf = ctypes.create_string_buffer(bytes(data), len(data))
        out = ctypes.POINTER(ctypes.c_ubyte)()
        if add is not None:
            add_buf = ctypes.create_string_buffer(bytes(add), len(add))
            n = self.lib.afl_custom_fuzz(self.state, buf, len(data), ctypes.byref(out), add_buf,
                                         len(add), max_size)
        else:
            n = self.lib.afl_custom_fuzz(self.state, buf, len(data), ctypes.byref(out), None, 0,
                                         max_size)
        assert out, "afl_custom_fuzz left *out_buf NULL"
        return ctypes.string_at(out, n)

    def describe(self, limit=64):
        d = self.lib.afl_custom_describe(self.state, limit)
        return d.decode() if d else None

    def close(self):
        self.lib.afl_custom_deinit(self.state)


def load():
    lib = ctypes.CDLL(LIBRARY)
    lib.afl_custom_init.restype = ctypes.c_void_p
    lib.afl_custom_init.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.afl_custom_fuzz.restype = ctypes.c_size_t
    lib.afl_custom_fuzz.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                    ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)),
                                    ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t]
    lib.afl_custom_describe.restype = ctypes.c_char_p
    lib.afl_custom_describe.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.afl_custom_deinit.restype = None
    lib.afl_custom_deinit.argtypes = [ctypes.c_void_p]
    return lib


class AflMutator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lib = load()
        cls.seeds = []
        for path in SEEDS:
            with open(path, "rb") as f:
                cls.seeds.append(f.read())

    def test_outputs_fit_and_differ(self):
        m = Mutator(self.lib, 1)
        changed = 0
        for i in range(400):
            seed = self.seeds[i % len(self.seeds)]
            out = m.fuzz(seed)
            self.assertLessEqual(len(out), MAX_LEN)
            self.assertGreaterEqual(len(out), 4)  # at least the config bytes
            self.assertIn(m.describe(), ("ops_mutate", "ops_crossover"))
            changed += out != seed
        m.close()
        self.assertGreater(changed, 300)  # a few mutations are no-ops (a swap of one op)

    def test_small_max_size(self):
        m = Mutator(self.lib, 2)
        big = max(self.seeds, key=len)
        self.assertGreater(len(big), 1000)
        out = m.fuzz(big, max_size=1000)
        self.assertLessEqual(len(out), 1000)
        self.assertEqual(m.fuzz(b"\x01\x02", max_size=3), b"\x01\x02")  # no room: unchanged
        huge = b"".join(self.seeds) * 2
        self.assertGreater(len(huge), MAX_LEN)
        self.assertLessEqual(len(m.fuzz(huge)), MAX_LEN)
        m.close()

    def test_deterministic_per_seed(self):
        a, b, c = Mutator(self.lib, 7), Mutator(self.lib, 7), Mutator(self.lib, 8)
        outs = [[m.fuzz(s, add=self.seeds[0]) for s in self.seeds] for m in (a, b, c)]
        self.assertEqual(outs[0], outs[1])
        self.assertNotEqual(outs[0], outs[2])
        for m in (a, b, c):
            m.close()

    def test_splices_with_a_second_input(self):
        m = Mutator(self.lib, 3)
        kinds = set()
        for i in range(200):
            m.fuzz(self.seeds[i % len(self.seeds)], add=self.seeds[(i + 5) % len(self.seeds)])
            kinds.add(m.describe())
        self.assertEqual(kinds, {"ops_mutate", "ops_crossover"})
        for _ in range(50):
            m.fuzz(self.seeds[0])
            self.assertEqual(m.describe(), "ops_mutate")  # nothing to splice with
        self.assertIsNone(m.describe(limit=5))  # does not fit: AFL++ falls back to its name
        m.close()

    def test_outputs_are_canonical_programs(self):
        if not os.path.exists(HEAPFUZZ):
            self.skipTest("no heapfuzz in %s" % BUILD)
        m = Mutator(self.lib, 4)
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(40):
                out = m.fuzz(self.seeds[i % len(self.seeds)],
                             add=self.seeds[(i * 7) % len(self.seeds)])
                path = os.path.join(tmp, "m%d.bin" % i)
                with open(path, "wb") as f:
                    f.write(out)
                env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
                text = subprocess.run([HEAPFUZZ, "print", path], capture_output=True, env=env)
                self.assertEqual(text.returncode, 0, text.stderr)
                with open(path + ".ops", "wb") as f:
                    f.write(text.stdout)
                back = subprocess.run([HEAPFUZZ, "asm", path + ".ops", "-o", path + ".re"],
                                      capture_output=True, env=env)
                self.assertEqual(back.returncode, 0, back.stderr)
                with open(path + ".re", "rb") as f:
                    self.assertEqual(f.read(), out, "output %d is not canonical" % i)
        m.close()


if __name__ == "__main__":
    if not os.path.exists(LIBRARY) or not SEEDS:
        skip_exit("%s or the compiled seeds (%s) are not built"
                  % (LIBRARY, os.path.join(BUILD, "corpus", "fuzz_heap")))
    unittest_main()
