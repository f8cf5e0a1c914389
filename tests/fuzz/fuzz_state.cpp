// libFuzzer target: a partial state's reader (coroner merge). The first byte chooses what the
// rest is: odd, a whole state as a file would hold it (the framing: magic line, block sizes,
// checksums); even, the entries of one block, framed here with a sound header and checksum, so
// the fuzzer reaches the record decoder behind the checksum. Either way the contents go into a
// task store; whatever records a state holds, a crafted one with sound checksums included, the
// store, the analysis and the reports take them without a crash.
#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "coroner/analysis.hpp"
#include "coroner/report.hpp"
#include "coroner/state.hpp"
#include "coroner/task_store.hpp"
#include "coroner/vocabulary.hpp"
#include "state_format.hpp"

namespace {

void put_block(std::string& out, std::string_view payload, bool ends_part) {
  coroner::state::put_u32(out,
                          uint32_t(payload.size()) | (ends_part ? coroner::state::kPartEnd : 0));
  coroner::state::put_u32(out, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(payload.data()),
                                              uInt(payload.size()))));
  out.append(payload);
}

// A state whose one block of entries is `entries`, marked as its part's last.
std::string framed(std::string_view entries) {
  std::string out(coroner::state::kMagic);
  out += std::to_string(coroner::kStateFormatVersion) + '\n';
  std::string header;
  coroner::state::put_text(header, coroner::kVersion);
  coroner::state::put_varint(header, 0);  // no reading option
  coroner::state::put_varint(header, 1);  // one part
  put_block(out, header, false);
  put_block(out, entries, true);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool whole = (data[0] & 1) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string bytes = whole ? std::string(rest) : framed(rest);

  static const coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 10000, false);
  auto error = coroner::replay_state_bytes(bytes, store);
  // A damaged whole state is reported by nobody; the records of a framed block are judged even
  // when its end is missing: a crafted state could hold them with its end in place.
  if ((whole && error) || store.counts().records == 0) return 0;
  store.finish();
  coroner::Analysis analysis = coroner::analyze(store, coroner::AnalysisOptions{});
  coroner::ReportInput in(analysis);
  for (const coroner::Finding& f : analysis.findings) in.findings.push_back(&f);
  // The text report reads every finding; fuzz_pipeline covers the other formats.
  std::string out = coroner::render_text(in);
  if (out.empty()) __builtin_trap();
  return 0;
}
