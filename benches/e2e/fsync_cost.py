#!/usr/bin/env python3
# The cost fsync adds when Fust publishes a local file written as fast as the release build
# writes it (the data still in the page cache): write SIZE MiB in 8 MiB chunks, then time
# fsync(file), and rename + fsync(dir), as fust_engine::durable::publish does. Sizes: W5's
# SF1 output (717 MiB) and W1's (171 MiB). Three runs each.
#
# usage: benches/e2e/fsync_cost.py DIR     (DIR on the disk the outputs go to; never the repo)
import os
import sys
import time

d = sys.argv[1]
chunk = os.urandom(1 << 20) * 8
for size_mb in (717, 171):
    for run in range(3):
        os.sync()
        tmp, dst = os.path.join(d, ".out.tmp"), os.path.join(d, "out.bin")
        t0 = time.perf_counter()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        written = 0
        while written < size_mb << 20:
            written += os.write(fd, chunk)
        t1 = time.perf_counter()
        os.fsync(fd)
        os.close(fd)
        t2 = time.perf_counter()
        os.rename(tmp, dst)
        dfd = os.open(d, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
        t3 = time.perf_counter()
        print(f"{size_mb} MiB run {run + 1}: write {t1 - t0:.2f} s, fsync file {t2 - t1:.2f} s, "
              f"rename+fsync dir {(t3 - t2) * 1000:.1f} ms")
        os.remove(dst)
