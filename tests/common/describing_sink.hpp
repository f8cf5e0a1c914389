// Everything a parser said about a log, one line of text per record or bad line: two parses
// that must agree (the flat reader on and off) are compared through it.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "coroner/record.hpp"
#include "record_parser.hpp"

namespace coroner_test {

inline std::string describe(const coroner::RawRecord& r) {
  std::ostringstream out;
  out << r.file << ':' << r.line << " time=" << r.has_time << '/' << r.time_ns << '/'
      << int(r.time_form) << '/' << r.bad_time << " task=" << r.has_task << '[' << r.task
      << "] stage=[" << r.stage << "] status=[" << r.status << "] parent=[" << r.parent
      << "] error=" << r.has_error << '[' << r.error_text << "] type=[" << r.error_type
      << "] level=[" << r.level << "] retry=" << r.retry << " timeout=" << r.has_timeout << '/'
      << r.timeout_ns << " scope=[" << r.scope << "] awaits=";
  for (auto a : r.awaits) out << '[' << a << ']';
  out << " filled=";
  for (auto f : r.filled_by) out << int(f) << ',';
  return out.str();
}

// Everything the parser said about a text, one line per record or bad line.
class DescribingSink : public coroner::RecordSink {
 public:
  void on_record(const coroner::RawRecord& r) override { lines.push_back(describe(r)); }
  bool on_bad_line(const coroner::BadLine& bad) override {
    std::string text = "bad ";
    text.append(std::to_string(bad.line)).append(": ").append(bad.reason);
    lines.push_back(text);
    return true;
  }
  std::vector<std::string> lines;
};

}  // namespace coroner_test
