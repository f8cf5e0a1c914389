#include "huge_pages.hpp"

#include <dlfcn.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// (AddressSanitizer's allocator reads no glibc tunable: nothing to restart for.)
#if defined(__linux__) && defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define CORONER_MALLOC_TAKES_HUGETLB 1
#endif

namespace coroner::cli {

#ifdef CORONER_MALLOC_TAKES_HUGETLB
namespace {

constexpr const char* kTunable = "glibc.malloc.hugetlb";

// The kernel's mode, as /sys shows it: "always [madvise] never".
bool huge_pages_only_when_asked() {
  std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(file, modes);
  return modes.find("[madvise]") != std::string::npos;
}

// /proc/self/exe is this program, not a loader that runs it (`ld.so coroner`, qemu-user), which
// restarted would run without the program.
bool proc_self_exe_is_this_program() {
  Dl_info info;
  struct stat self {
  }, program{};
  return dladdr(reinterpret_cast<void*>(&proc_self_exe_is_this_program), &info) != 0 &&
         info.dli_fname != nullptr && stat("/proc/self/exe", &self) == 0 &&
         stat(info.dli_fname, &program) == 0 && self.st_dev == program.st_dev &&
         self.st_ino == program.st_ino;
}

}  // namespace
#endif

void restart_with_huge_pages(char** argv) {
#ifdef CORONER_MALLOC_TAKES_HUGETLB
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  std::string value = tunables ? tunables : "";
  if (value.find(kTunable) != std::string::npos || !huge_pages_only_when_asked()) return;
  // A setuid or file-capability start: glibc drops the tunable from the restarted program's
  // environment, which then could not tell it was restarted, and would restart forever.
  if (getauxval(AT_SECURE) != 0 || !proc_self_exe_is_this_program()) return;
  value += value.empty() ? "" : ":";
  value += kTunable;
  value += "=1";
  // Naming the tunable also ends the recursion: the restarted coroner finds it and goes on.
  if (setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // The exec failed (no /proc): go on without, and leave the environment as it was.
  if (tunables)
    setenv("GLIBC_TUNABLES", tunables, 1);
  else
    unsetenv("GLIBC_TUNABLES");
#else
  (void)argv;
#endif
}

void keep_heap_in_place() {
#if defined(__GLIBC__)
  constexpr int kMapPast = 32 << 20;   // blocks this big or bigger get a mapping of their own
  constexpr int kTrimPast = 64 << 20;  // free memory at the heap's top kept up to this
  mallopt(M_MMAP_THRESHOLD, kMapPast);
  mallopt(M_TRIM_THRESHOLD, kTrimPast);
#endif
}

}  // namespace coroner::cli
