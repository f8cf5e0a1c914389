// The instruction-set check of a binary built with -Dsimd=haswell (the pip wheel's choice): on a
// CPU without AVX2 the record parser would die of an illegal instruction at its first record.
// Say so in one line and exit 2 instead. This file is compiled without the SIMD flags, into the
// executable only, and runs as a constructor of the highest priority a program may use, so
// before any static initializer of the code built with AVX2 allowed.
#include <cstdio>
#include <cstdlib>

namespace {

// Every x86-64 CPU with AVX2 and BMI2 also has LZCNT (clang 14 cannot test for it by name).
bool has_haswell_instructions() {
  __builtin_cpu_init();  // needed before main: the checks below may run before libgcc's own
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
         __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("pclmul") &&
         __builtin_cpu_supports("popcnt");
}

__attribute__((constructor(101))) void refuse_a_cpu_without_haswell_instructions() {
  // CORONER_FAKE_OLD_CPU=1 lets the tests see the refusal on a CPU that has the instructions.
  const char* fake = std::getenv("CORONER_FAKE_OLD_CPU");
  bool faked = fake != nullptr && fake[0] == '1';
  if (has_haswell_instructions() && !faked) return;
  std::fputs(
      "coroner: this CPU lacks AVX2/BMI2, which this build needs (it was built with "
      "-Dsimd=haswell, as the pip package is); build coroner from source with -Dsimd=generic\n",
      stderr);
  std::_Exit(2);
}

}  // namespace
