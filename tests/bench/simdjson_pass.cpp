// The limit coroner's parse is measured against: a bare simdjson ondemand iterate_many pass
// over an NDJSON file that reads each record's task_id, stage and timestamp and does nothing
// else. Prints "records bytes seconds".
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: simdjson_pass FILE\n");
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  simdjson::padded_string json;
  if (simdjson::padded_string::load(argv[1]).get(json)) {
    std::fprintf(stderr, "simdjson_pass: cannot read %s\n", argv[1]);
    return 2;
  }
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document_stream stream;
  if (parser.iterate_many(json, 1 << 20).get(stream)) return 2;
  uint64_t records = 0, checksum = 0;
  for (auto doc : stream) {
    simdjson::ondemand::object object;
    if (doc.get_object().get(object)) continue;
    for (auto field : object) {
      std::string_view key;
      if (field.unescaped_key().get(key)) break;
      if (key == "stage") {
        std::string_view stage;
        if (!field.value().get_string().get(stage)) checksum += stage.size();
      } else if (key == "task_id") {
        uint64_t id;
        if (!field.value().get_uint64().get(id)) checksum += id;
      } else if (key == "timestamp") {
        double t;
        if (!field.value().get_double().get(t)) checksum += uint64_t(t);
      }
    }
    ++records;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu %zu %.6f %llu\n", (unsigned long long)records, json.size(), seconds,
              (unsigned long long)checksum);
  return 0;
}
