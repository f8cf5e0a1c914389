// Bytes from memory as a ByteSource, handed out at most `step` at a time (a pipe gives short
// reads too), failing with an I/O error after `fail_after` bytes when asked to.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "reader.hpp"

namespace coroner_test {

class StringSource : public coroner::ByteSource {
 public:
  explicit StringSource(std::string data, size_t step = SIZE_MAX, size_t fail_after = SIZE_MAX)
      : data_(std::move(data)), step_(step), fail_after_(fail_after) {}
  size_t read(char* dest, size_t size) override {
    if (pos_ >= fail_after_) {
      error_ = "Input/output error";
      return 0;
    }
    size_t n = std::min({size, step_, data_.size() - pos_, fail_after_ - pos_});
    std::memcpy(dest, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t step_;
  size_t fail_after_;
  size_t pos_ = 0;
};

}  // namespace coroner_test
