// Test support (header-only, GoogleTest): a copy of a protocol folder in a temporary directory
// that a test may edit, removed at the end of the test. Used by the protocol module's tests and
// by tests/protocol_change_test.cc.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace trial::protocol::testing {

inline std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteText(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

class TempProtocol {
 public:
  explicit TempProtocol(const std::string& source = "protocols/promis-mda5") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("trial_protocol_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
            std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::copy(source, dir_, std::filesystem::copy_options::recursive);
  }
  ~TempProtocol() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempProtocol(const TempProtocol&) = delete;
  TempProtocol& operator=(const TempProtocol&) = delete;

  std::string dir() const { return dir_.string(); }
  std::filesystem::path file(const std::string& name) const { return dir_ / name; }

  // Replaces the single occurrence of `from` in file `name` (fails the test otherwise).
  void Replace(const std::string& name, const std::string& from, const std::string& to) {
    std::string text = ReadText(file(name));
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << name << " has no '" << from << "'";
    ASSERT_EQ(text.find(from, at + 1), std::string::npos) << name << ": '" << from << "' twice";
    text.replace(at, from.size(), to);
    WriteText(file(name), text);
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace trial::protocol::testing
