#include "coroner/record_parser.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "coroner/interner.hpp"

namespace coroner {

namespace od = simdjson::ondemand;

void RawRecord::clear() {
  has_time = false;
  time_ns = 0;
  time_form = TimeForm::none;
  has_task = false;
  task = stage = status = parent = error_text = error_type = level = {};
  awaits.clear();
  has_error = false;
  retry = false;
  has_timeout = false;
  timeout_ns = 0;
  scope.clear();
  filled_by.fill(kNoField);
  bad_time = false;
}

bool RawRecord::is_error_level() const {
  if (level.empty() || level.size() > 8) return false;
  char lower[8];
  for (size_t i = 0; i < level.size(); ++i)
    lower[i] = (level[i] >= 'A' && level[i] <= 'Z') ? char(level[i] - 'A' + 'a') : level[i];
  std::string_view l(lower, level.size());
  return l == "error" || l == "critical" || l == "fatal" || l == "err" || l == "crit" ||
         l == "alert" || l == "emerg";
}

namespace {

constexpr size_t kBatchSize = 1 << 20;
// After a damaged line the next lines go one by one, then the fast path is tried again; a
// chunk that keeps failing stays on the slow path rather than re-indexing itself many times.
constexpr int kSlowLinesAfterError = 64;
constexpr int kMaxFastRestartsPerChunk = 8;
// Nested objects deeper than this are not searched for dotted paths.
constexpr int kMaxPathDepth = 8;

// The field paths of every role, as a tree keyed by path component: "extra.task_id" is the
// child "task_id" of the child "extra" of the root.
struct FieldTree {
  struct Target {
    Role role;
    uint8_t rank;  // position in the role's list: lower wins
  };
  struct Node {
    std::vector<Target> targets;
    std::vector<std::pair<uint32_t, uint32_t>> children;  // (name id, node index)
  };

  explicit FieldTree(const RoleConfig& config) {
    nodes.emplace_back();
    for (size_t r = 0; r < kRoleCount; ++r) {
      const auto& paths = config.paths[r];
      for (size_t rank = 0; rank < paths.size() && rank < RawRecord::kNoField; ++rank)
        add(paths[rank], Target{Role(r), uint8_t(rank)});
    }
    build_quick_table();
  }

  void add(std::string_view path, Target target) {
    uint32_t node = 0;
    while (true) {
      size_t dot = path.find('.');
      uint32_t name = names.intern(path.substr(0, dot));
      node = child_or_new(node, name);
      if (dot == std::string_view::npos) break;
      path.remove_prefix(dot + 1);
    }
    nodes[node].targets.push_back(target);
  }

  uint32_t child_or_new(uint32_t node, uint32_t name) {
    if (auto c = child(node, name)) return *c;
    uint32_t index = uint32_t(nodes.size());
    nodes.emplace_back();
    nodes[node].children.emplace_back(name, index);
    if (node == 0) {
      if (root_children.size() <= name) root_children.resize(name + 1, kNoChild);
      root_children[name] = index;
    }
    return index;
  }

  // Every key of every record comes through here: a small table indexed by length and the first
  // and last bytes answers most keys (the ones of no role) without hashing the whole key.
  static size_t quick_slot(std::string_view key) {
    if (key.empty()) return 0;
    return (key.size() * 31u + uint8_t(key.front()) * 7u + uint8_t(key.back())) & (kQuick - 1);
  }
  void build_quick_table() {
    for (uint32_t id = 0; id < names.size(); ++id) {
      size_t slot = quick_slot(names.view(id));
      quick[slot] = quick[slot] == kEmptyQuick ? id : kCollision;
    }
  }
  std::optional<uint32_t> find_name(std::string_view key) const {
    uint32_t id = quick[quick_slot(key)];
    if (id == kEmptyQuick) return std::nullopt;
    if (id != kCollision) {
      if (names.view(id) == key) return id;
      return std::nullopt;
    }
    return names.find(key);
  }

  std::optional<uint32_t> child(uint32_t node, uint32_t name) const {
    if (node == 0) {
      uint32_t index = name < root_children.size() ? root_children[name] : kNoChild;
      if (index == kNoChild) return std::nullopt;
      return index;
    }
    for (auto [n, index] : nodes[node].children)
      if (n == name) return index;
    return std::nullopt;
  }

  static constexpr size_t kQuick = 512;
  static constexpr uint32_t kEmptyQuick = UINT32_MAX;
  static constexpr uint32_t kCollision = UINT32_MAX - 1;
  Interner names;
  std::vector<Node> nodes;
  // The top level has some sixty names (every role's fields): looked up by name id, not scanned.
  static constexpr uint32_t kNoChild = UINT32_MAX;
  std::vector<uint32_t> root_children;
  std::array<uint32_t, kQuick> quick = make_empty_quick();

  static std::array<uint32_t, kQuick> make_empty_quick() {
    std::array<uint32_t, kQuick> q;
    q.fill(kEmptyQuick);
    return q;
  }
};

// True when only spaces, tabs and CRs lie between `p` and the next newline (or `end`).
bool only_blanks_to_newline(const char* p, const char* end) {
  for (; p < end && *p != '\n'; ++p)
    if (*p != ' ' && *p != '\t' && *p != '\r') return false;
  return true;
}

std::string_view trim_token(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                            token.back() == '\t' || token.back() == ','))
    token.remove_suffix(1);
  return token;
}

// A key as written when it holds no escape, which is almost every key: a view into the input,
// without the copy unescaping makes into simdjson's buffer.
simdjson::error_code key_text(od::field& field, std::string_view& out) {
  const char* start = reinterpret_cast<const char*>(field.key().raw());
  // The key's closing quote lies before its value: the scan never leaves the document.
  const char* value = field.value().raw_json_token().data();
  for (const char* p = start; p < value; ++p) {
    if (*p == '"') {
      out = std::string_view(start, size_t(p - start));
      return simdjson::SUCCESS;
    }
    if (*p == '\\') break;
  }
  return field.unescaped_key().get(out);
}

// A string value's contents. Without an escape it is a view into the input, valid as long as
// the chunk is (a record can then wait a little before it is handled); with one, simdjson
// unescapes it into its buffer, valid only until the next document.
simdjson::error_code string_text(od::value& value, std::string_view& out) {
  std::string_view token = trim_token(value.raw_json_token());
  if (token.size() >= 2 && token.front() == '"' && token.back() == '"' &&
      std::memchr(token.data(), '\\', token.size()) == nullptr) {
    out = token.substr(1, token.size() - 2);
    return simdjson::SUCCESS;
  }
  return value.get_string().get(out);
}

}  // namespace

struct RecordParser::Impl {
  explicit Impl(const RoleConfig& roles) : config(roles), tree(roles) {}

  const RoleConfig& config;
  FieldTree tree;
  od::parser stream_parser;
  od::parser line_parser;
  RawRecord record;

  bool parse_chunk(const Chunk& chunk, uint32_t file, RecordSink& sink);
  // Returns the offset where the fast path stopped: chunk.size when it parsed everything.
  size_t fast_pass(const Chunk& chunk, size_t begin, uint32_t file, RecordSink& sink);
  // Parses the line at `begin` on its own; returns the offset after its newline.
  size_t slow_line(const Chunk& chunk, size_t begin, uint32_t file, RecordSink& sink, bool& stop);

  simdjson::error_code read_object(od::object object, uint32_t node, int depth);
  simdjson::error_code read_value(od::value value, const FieldTree::Target& target,
                                  std::string_view name);
  simdjson::error_code read_document(od::document_reference doc);

  // Lines are counted lazily, only up to where a record or bad line needs its number.
  uint64_t line_at(const Chunk& chunk, size_t offset) {
    if (offset < cursor_offset) {
      cursor_offset = 0;
      cursor_line = chunk.first_line;
    }
    cursor_line += count_newlines(chunk.data + cursor_offset, offset - cursor_offset);
    cursor_offset = offset;
    return cursor_line;
  }
  size_t cursor_offset = 0;
  uint64_t cursor_line = 1;
};

RecordParser::RecordParser(const RoleConfig& roles) : impl_(std::make_unique<Impl>(roles)) {}
RecordParser::~RecordParser() = default;

bool RecordParser::parse_chunk(const Chunk& chunk, uint32_t file, RecordSink& sink) {
  return impl_->parse_chunk(chunk, file, sink);
}

bool RecordParser::Impl::parse_chunk(const Chunk& chunk, uint32_t file, RecordSink& sink) {
  cursor_offset = 0;
  cursor_line = chunk.first_line;
  bool stop = false;
  size_t offset = 0;
  int restarts = 0;
  while (offset < chunk.size && !stop) {
    offset = fast_pass(chunk, offset, file, sink);
    int slow_lines = ++restarts > kMaxFastRestartsPerChunk ? INT32_MAX : kSlowLinesAfterError;
    for (int i = 0; i < slow_lines && offset < chunk.size && !stop; ++i)
      offset = slow_line(chunk, offset, file, sink, stop);
  }
  return !stop;
}

size_t RecordParser::Impl::fast_pass(const Chunk& chunk, size_t begin, uint32_t file,
                                     RecordSink& sink) {
  const char* base = chunk.data + begin;
  size_t size = chunk.size - begin;
  od::document_stream stream;
  if (stream_parser.iterate_many(base, size, kBatchSize).get(stream)) return begin;
  size_t good_end = 0;  // offset (from base) just past the last record handled
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    // A batch that failed to index (an unclosed string, bad UTF-8) has no documents to look at:
    // check before touching source(), which reads the index.
    od::document_reference doc;
    if ((*it).get(doc) != simdjson::SUCCESS) break;
    size_t index = it.current_index();
    std::string_view source = trim_token(it.source());
    // A document spanning lines means a damaged line was glued to the next, and anything but
    // blanks after a document before the newline is text after the object: redo them slowly.
    if (std::memchr(source.data(), '\n', source.size()) != nullptr) break;
    if (!only_blanks_to_newline(source.data() + source.size(), chunk.data + chunk.size)) {
      // Hand the slow path this document's whole line, from its start.
      const char* line_start = base + index;
      while (line_start > chunk.data && line_start[-1] != '\n') --line_start;
      return size_t(line_start - chunk.data);
    }
    record.clear();
    if (read_document(doc) != simdjson::SUCCESS) break;
    record.file = file;
    record.line = line_at(chunk, begin + index);
    // The document holds no newline (checked above): the next count starts after it.
    cursor_offset = begin + index + source.size();
    sink.on_record(record);
    good_end = index + source.size();
  }
  // Move past the newline that ends the last good line, so the slow path starts on a fresh line.
  size_t offset = begin + good_end;
  if (good_end == 0) return begin;
  if (stream.truncated_bytes() == 0 && offset >= chunk.size) return chunk.size;
  const void* nl = std::memchr(chunk.data + offset, '\n', chunk.size - offset);
  return nl ? size_t(static_cast<const char*>(nl) - chunk.data) + 1 : chunk.size;
}

size_t RecordParser::Impl::slow_line(const Chunk& chunk, size_t begin, uint32_t file,
                                     RecordSink& sink, bool& stop) {
  const char* line = chunk.data + begin;
  const void* nl = std::memchr(line, '\n', chunk.size - begin);
  size_t line_end = nl ? size_t(static_cast<const char*>(nl) - chunk.data) : chunk.size;
  size_t next = nl ? line_end + 1 : chunk.size;
  std::string_view text(line, line_end - begin);
  while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return next;  // a blank line
  // A container runtime's prefix ("2026-... stdout F ") comes before the object's '{'.
  size_t brace = text.find('{');
  auto bad = [&](std::string reason) {
    BadLine b{file, line_at(chunk, begin), std::move(reason)};
    if (!sink.on_bad_line(b)) stop = true;
    return next;
  };
  if (brace == std::string_view::npos) return bad("not a JSON object");
  text.remove_prefix(brace);
  size_t capacity = chunk.capacity - size_t(text.data() - chunk.data);
  od::document doc;
  if (auto err = line_parser.iterate(text.data(), text.size(), capacity).get(doc))
    return bad(std::string("invalid JSON: ") + simdjson::error_message(err));
  record.clear();
  if (auto err = read_document(doc))
    return bad(std::string("invalid JSON: ") + simdjson::error_message(err));
  // Still in bounds after the whole object: something follows it on the line.
  const char* after = nullptr;
  if (doc.current_location().get(after) == simdjson::SUCCESS)
    return bad("invalid JSON: text after the object");
  record.file = file;
  record.line = line_at(chunk, begin);
  sink.on_record(record);
  return next;
}

simdjson::error_code RecordParser::Impl::read_document(od::document_reference doc) {
  od::json_type type;
  if (auto err = doc.type().get(type)) return err;
  if (type != od::json_type::object) return simdjson::INCORRECT_TYPE;
  od::object object;
  if (auto err = doc.get_object().get(object)) return err;
  return read_object(object, 0, 0);
}

simdjson::error_code RecordParser::Impl::read_object(od::object object, uint32_t node,
                                                     int depth) {
  for (auto field_result : object) {
    od::field field;
    if (auto err = std::move(field_result).get(field)) return err;
    std::string_view key;
    if (auto err = key_text(field, key)) return err;
    auto name = tree.find_name(key);
    if (!name) continue;  // not a field of any role: ondemand skips its value
    auto child = tree.child(node, *name);
    if (!child) continue;
    const FieldTree::Node& target_node = tree.nodes[*child];
    od::value value = field.value();
    if (!target_node.children.empty() && depth < kMaxPathDepth) {
      od::json_type type;
      if (auto err = value.type().get(type)) return err;
      if (type == od::json_type::object) {
        od::object inner;
        if (auto err = value.get_object().get(inner)) return err;
        if (auto err = read_object(inner, *child, depth + 1)) return err;
        continue;
      }
    }
    // A field may serve several roles (the same name in two lists): read it for the best one.
    for (const auto& target : target_node.targets) {
      uint8_t& filled = record.filled_by[size_t(target.role)];
      if (target.role != Role::scope && filled <= target.rank) continue;
      if (auto err = read_value(value, target, key)) return err;
      break;
    }
  }
  return simdjson::SUCCESS;
}

namespace {

// The text of a scalar: a string's contents, a number's digits, true/false; empty otherwise.
simdjson::error_code scalar_text(od::value& value, std::string_view& out, bool& is_string) {
  od::json_type type;
  if (auto err = value.type().get(type)) return err;
  is_string = type == od::json_type::string;
  if (is_string) return string_text(value, out);
  if (type == od::json_type::number || type == od::json_type::boolean) {
    out = trim_token(value.raw_json_token());
    return simdjson::SUCCESS;
  }
  out = {};
  return simdjson::SUCCESS;
}

}  // namespace

simdjson::error_code RecordParser::Impl::read_value(od::value value,
                                                    const FieldTree::Target& target,
                                                    std::string_view name) {
  RawRecord& r = record;
  uint8_t& filled = r.filled_by[size_t(target.role)];
  od::json_type type;
  if (auto err = value.type().get(type)) return err;
  std::string_view text;
  bool is_string = false;
  switch (target.role) {
    case Role::time: {
      std::optional<ParsedTime> t;
      if (type == od::json_type::number) {
        t = parse_epoch_number(trim_token(value.raw_json_token()));
      } else if (type == od::json_type::string) {
        if (auto err = string_text(value, text)) return err;
        t = parse_time_string(text);
      } else if (type == od::json_type::null) {
        return simdjson::SUCCESS;
      }
      filled = target.rank;
      if (!t) {
        r.bad_time = true;
        r.has_time = false;
        return simdjson::SUCCESS;
      }
      r.has_time = true;
      r.bad_time = false;
      r.time_ns = t->ns;
      r.time_form = t->form;
      return simdjson::SUCCESS;
    }
    case Role::awaits: {
      if (type == od::json_type::array) {
        od::array array;
        if (auto err = value.get_array().get(array)) return err;
        r.awaits.clear();
        for (auto element_result : array) {
          od::value element;
          if (auto err = std::move(element_result).get(element)) return err;
          if (auto err = scalar_text(element, text, is_string)) return err;
          if (!text.empty()) r.awaits.push_back(text);
        }
      } else {
        if (auto err = scalar_text(value, text, is_string)) return err;
        if (text.empty()) return simdjson::SUCCESS;
        r.awaits.assign(1, text);
      }
      filled = target.rank;
      return simdjson::SUCCESS;
    }
    case Role::error: {
      if (type == od::json_type::string) {
        if (auto err = string_text(value, text)) return err;
        r.has_error = !text.empty();
        r.error_text = text;
      } else if (type == od::json_type::boolean) {
        bool b = false;
        if (auto err = value.get_bool().get(b)) return err;
        r.has_error = b;
      } else if (type == od::json_type::array) {
        size_t n = 0;
        if (auto err = value.count_elements().get(n)) return err;
        r.has_error = n > 0;
      } else if (type == od::json_type::object) {
        size_t n = 0;
        if (auto err = value.count_fields().get(n)) return err;
        r.has_error = n > 0;
      }
      if (r.has_error) filled = target.rank;
      return simdjson::SUCCESS;
    }
    case Role::timeout: {
      std::optional<int64_t> ns;
      if (type == od::json_type::number) {
        double seconds = 0;
        // A number past double's range (1e999) is no timeout, but the record is still good.
        if (value.get_double().get(seconds) != simdjson::SUCCESS) return simdjson::SUCCESS;
        if (seconds > 0 && seconds < 1e9) ns = int64_t(seconds * 1e9);
      } else if (type == od::json_type::string) {
        if (auto err = string_text(value, text)) return err;
        ns = parse_duration(text);
      }
      if (!ns) return simdjson::SUCCESS;
      r.has_timeout = true;
      r.timeout_ns = *ns;
      filled = target.rank;
      return simdjson::SUCCESS;
    }
    case Role::attempt: {
      if (auto err = scalar_text(value, text, is_string)) return err;
      // attempt / attempt_number count tries from 1; retry / retries / retry_count from 0.
      int64_t first_retry = target.rank < 2 ? 2 : 1;
      int64_t n = 0;
      for (char c : text) {
        if (c < '0' || c > '9' || n > 1000000) break;
        n = n * 10 + (c - '0');
      }
      r.retry = n >= first_retry || text == "true";
      filled = target.rank;
      return simdjson::SUCCESS;
    }
    case Role::scope: {
      if (auto err = scalar_text(value, text, is_string)) return err;
      if (text.empty()) return simdjson::SUCCESS;
      if (!r.scope.empty()) r.scope.push_back('\x1f');
      r.scope.append(name);
      r.scope.push_back('=');
      r.scope.append(text);
      filled = std::min(filled, target.rank);
      return simdjson::SUCCESS;
    }
    default:
      break;
  }
  // The string roles: task, stage, status, parent, error type, level.
  if (auto err = scalar_text(value, text, is_string)) return err;
  if (text.empty()) return simdjson::SUCCESS;
  filled = target.rank;
  switch (target.role) {
    case Role::task:
      r.task = text;
      r.has_task = true;
      break;
    case Role::stage: r.stage = text; break;
    case Role::status: r.status = text; break;
    case Role::parent: r.parent = text; break;
    case Role::error_type: r.error_type = text; break;
    case Role::level: r.level = text; break;
    default: break;
  }
  return simdjson::SUCCESS;
}

}  // namespace coroner
