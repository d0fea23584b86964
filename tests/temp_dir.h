// A fresh temporary directory for a test, removed with everything in it
// when the object goes. Shared by the storage and broker tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace muninn::test {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "muninn-test-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string str() const { return path.string(); }
};

}  // namespace muninn::test
