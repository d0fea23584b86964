// The seed hook every fuzz target shares with run-fuzz.sh: with
// MUNINN_FUZZ_WRITE_SEEDS=DIR a target writes its seed corpus to DIR and
// exits instead of fuzzing. A target defines muninn::fuzz::write_seeds and
// includes this header once (it defines libFuzzer's LLVMFuzzerInitialize).
#pragma once

#include <cstdlib>
#include <string>

namespace muninn::fuzz {
void write_seeds(const std::string& dir);
}  // namespace muninn::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("MUNINN_FUZZ_WRITE_SEEDS")) {
    muninn::fuzz::write_seeds(dir);
    std::exit(0);
  }
  return 0;
}
