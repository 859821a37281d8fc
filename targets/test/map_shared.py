# Bumps the last byte of FILE through a shared writable mapping that it
# first moves with mremap (mmap.resize): the recorder records the stores
# through a mapping, but does not follow a moved one, so this write is a
# recorder gap on FILE.
import mmap
import sys

with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m.resize(len(m))
    m[-1:] = bytes([(m[-1] + 1) % 256])
    m.close()
