# Bumps the last byte of FILE through a shared writable mapping: the
# recorder sees the mapping (a gap), never the write.
import mmap
import sys

with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[-1:] = bytes([(m[-1] + 1) % 256])
    m.close()
