// Memory in huge pages. A big log is millions of tasks, and every 4 KiB page of the store costs
// a page fault when first touched: on the benchmark's 2 M-task log, 75,000 faults, a quarter of
// the run on a virtual machine. The kernel gives transparent huge pages (2 MiB) to memory that
// asks for them when its mode is `madvise` (this machine's mode, and Ubuntu's), and glibc's
// malloc asks when its tunable glibc.malloc.hugetlb is 1. Tunables are read only when a program
// starts, so coroner starts itself again, once, with it set.
#pragma once

namespace coroner::cli {

// Called first thing in main, before any thread or any read: execs /proc/self/exe with the
// same arguments and GLIBC_TUNABLES=...:glibc.malloc.hugetlb=1 when the kernel's mode is
// `madvise`, glibc is 2.35 or later and GLIBC_TUNABLES does not name glibc.malloc.hugetlb
// already (a user's own choice, 0 included, wins). Returns when it does not restart, or when the
// exec failed (coroner then runs as before, only slower).
void restart_with_huge_pages(char** argv);

// Keeps big blocks on malloc's heap and the heap's top in place: without this, each block past
// 128 KiB (a chunk of tasks) is a mapping of its own, too small for a huge page, and the top
// given back and taken again is zeroed again.
void keep_heap_in_place();

}  // namespace coroner::cli
