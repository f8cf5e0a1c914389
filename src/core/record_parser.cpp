#include "record_parser.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

#include "coroner/asyncio_messages.hpp"
#include "coroner/interner.hpp"
#include "dialect_readers.hpp"
#include "flat_line.hpp"
#include "json_values.hpp"
#include "runtime_prefix.hpp"
#include "traceback_text.hpp"
#include "utf8_repair.hpp"

namespace coroner {

namespace od = simdjson::ondemand;

namespace {

// The members clear() cannot zero as bytes: those that own memory.
constexpr size_t owning_members() {
  size_t count = 0;
  for_each_field([&](const auto& field) {
    using T = typename std::decay_t<decltype(field)>::Type;
    count += !std::is_trivially_copyable_v<T>;
  });
  return count;
}

}  // namespace

void RawRecord::clear() {
  // A fresh record is zero bytes but for its two lists and filled_by (test_record_batch.cpp
  // checks it): the runs of bytes between them are zeroed in a few wide stores. Member by member
  // (kRawRecordFields) took some forty stores, on every record.
  static_assert(std::is_standard_layout_v<RawRecord>, "offsetof below");
  static_assert(owning_members() == 2, "a member that owns memory is cleared on its own below");
  char* bytes = reinterpret_cast<char*>(this);
  constexpr size_t awaits_at = offsetof(RawRecord, awaits), scope_at = offsetof(RawRecord, scope);
  static_assert(awaits_at < scope_at);
  std::memset(bytes, 0, awaits_at);
  constexpr size_t after_awaits = awaits_at + sizeof(awaits);
  std::memset(bytes + after_awaits, 0, scope_at - after_awaits);
  constexpr size_t after_scope = scope_at + sizeof(scope);
  std::memset(bytes + after_scope, 0, sizeof(RawRecord) - after_scope);
  awaits.clear();
  scope.clear();
  filled_by = kFreshRecord.filled_by;
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
// A line the flat reader refuses after reading at least this many lines goes to simdjson alone;
// after a shorter run, it goes with a window of the lines after it, at least kFirstSimdjsonWindow
// bytes (see parse_chunk).
constexpr uint64_t kLongFlatRun = 16;
constexpr size_t kFirstSimdjsonWindow = 16 << 10;
constexpr size_t kMaxSimdjsonWindow = 64 << 20;
static_assert(LineChunker::kPadding >= kFlatLinePadding,
              "a chunk's padding covers the flat reader");
// Nested objects deeper than this are not searched for dotted paths.
constexpr int kMaxPathDepth = 8;

// The field paths of every role, as a tree keyed by path component: "extra.task_id" is the
// child "task_id" of the child "extra" of the root.
struct FieldTree {
  struct Target {
    Role role;
    uint8_t rank;  // position in the role's list: lower wins
    // The attempt role only: the least value that is a retry, told by the field's name.
    uint8_t first_retry = 0;
    bool message = false;  // the stage role only: a free-text field (is_message_field)
    // The scope role only: how the task's name shows the field, when not by its key (loguru's
    // record.process.id shows as process.id: "id" alone would say nothing).
    std::string_view label;
  };
  struct Node {
    std::vector<Target> targets;
    std::vector<std::pair<uint32_t, uint32_t>> children;  // (name id, node index)
  };

  explicit FieldTree(const RoleConfig& config) {
    nodes.emplace_back();
    for (size_t r = 0; r < kRoleCount; ++r) {
      const auto& paths = config.paths[r];
      for (size_t rank = 0; rank < paths.size() && rank < RawRecord::kNoField; ++rank) {
        Target target{Role(r), uint8_t(rank), 0, false, {}};
        if (Role(r) == Role::attempt)
          target.first_retry = uint8_t(first_retry_attempt(paths[rank]));
        if (Role(r) == Role::stage) target.message = is_message_field(paths[rank]);
        if (Role(r) == Role::scope) target.label = scope_label(paths[rank]);
        add(paths[rank], target);
      }
    }
    build_quick_table();
  }

  // A path's last key, or its last two when the last is "id": the label of a scope field.
  std::string_view scope_label(std::string_view path) {
    std::vector<std::string> parts = split_field_path(path);
    if (parts.size() < 2 || parts.back() != "id") return {};
    return names.view(names.intern(parts[parts.size() - 2] + "." + parts.back()));
  }

  void add(std::string_view path, Target target) {
    std::vector<std::string> parts = split_field_path(path);
    if (parts.empty()) return;  // malformed: --field refuses it before
    uint32_t node = 0;
    for (const std::string& part : parts) node = child_or_new(node, names.intern(part));
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
  Impl(const RoleConfig& roles, bool flat, Dialect d, std::optional<int32_t> naive)
      : config(roles),
        tree(config),
        flat_lines(flat),
        dialect(d),
        naive_offset(naive),
        key_spans(tree.nodes.size()) {}

  RoleConfig config;
  FieldTree tree;
  bool flat_lines;
  Dialect dialect;
  std::optional<int32_t> naive_offset;  // RoleConfig::naive_offset (a dialect's roles drop it)
  EliotReader eliot;
  SpanReader spans;
  od::parser stream_parser;
  od::parser line_parser;
  std::string repaired_line;  // a line that was not UTF-8, made so (utf8_repair.hpp)
  RawRecord record;
  FlatLineReader flat;
  // The role node of each of the flat line's keys (nullptr: no role, or the key comes again
  // later in the line), kept while keys repeat.
  std::array<const FieldTree::Node*, FlatLineReader::kMaxFields> flat_nodes{};

  // A field of a role as simdjson found it. The fields are applied once the whole document is
  // read, in the document's order, so that a key that comes again overrules its earlier value.
  struct PendingField {
    const FieldTree::Node* node = nullptr;
    std::string_view name;
    JsonScalar value;  // Kind::container for an array or an object
    bool array = false;
    bool live = true;      // false once the same key came again, or a key above it
    uint32_t members = 0;  // an array's elements or an object's fields, when a role counts them
    uint32_t items_begin = 0, items_end = 0;  // an array's elements, in pending_items (awaits)
    // An error written as a list of exception objects (structlog's dict_tracebacks): the first
    // one's exc_type and exc_value.
    bool exception_list = false;
    std::string_view exc_type, exc_value;
  };
  std::vector<PendingField> pending;
  std::vector<JsonScalar> pending_items;

  // The time a line's prefix starts with, for a record that has none of its own: a container
  // runtime stamps each line the program writes ("2026-11-27T10:00:00.123456789Z stdout F {...}",
  // CRI; `kubectl logs --timestamps`), and a program that leaves the time to it logs none.
  void time_from_prefix(std::string_view prefix) {
    // A date and a time written out: a bare number before the object ("3 {...}", a line
    // number) is no runtime's stamp.
    std::optional<ParsedTime> t = parse_time_string(time_of_prefix(prefix));
    if (!t || !is_written_out(t->form)) return;
    place_in_zone(*t, naive_offset);
    record.has_time = true;
    record.time_ns = t->ns;
    record.time_form = t->form;
    record.utc_offset = t->utc_offset;
  }

  // `kubectl logs --prefix` names each line's pod: the logs of two replicas number their jobs
  // alike, and only the pod tells their tasks apart. It joins the record's scope.
  void scope_from_prefix(std::string_view prefix) {
    std::optional<RuntimePrefix> runtime = runtime_prefix(prefix);
    if (!runtime || runtime->pod.empty()) return;
    if (!record.scope.empty()) record.scope.push_back('\x1f');
    record.scope.append("pod=").append(runtime->pod);
  }

  // The line of asyncio's text message that names a task ("future: <Task finished name=...>",
  // written to stderr when no JSON handler is on asyncio's logger), read as a record of that
  // message: without a time or a task, it takes the time of the record before it.
  bool asyncio_text(std::string_view line, uint32_t file, uint64_t line_number, RecordSink& sink) {
    if (line.empty() || line[0] == '{') return false;
    std::string_view text = without_runtime_prefix(line);
    if (!text.starts_with(kNeverRetrievedLine) && !text.starts_with(kDestroyedPendingLine))
      return false;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    record.clear();
    record.stage = text;
    if (text.data() != line.data()) {
      std::string_view prefix = line.substr(0, size_t(text.data() - line.data()));
      time_from_prefix(prefix);
      scope_from_prefix(prefix);  // a replica's message names its own tasks
    }
    record.file = file;
    record.line = line_number;
    sink.on_record(record);
    return true;
  }
  // Per tree node, the pending fields its key made in the current document: its own and those
  // of the object under it, which all go when the key comes again.
  struct KeySpan {
    uint32_t document = 0;
    uint32_t begin = 0, end = 0;
  };
  std::vector<KeySpan> key_spans;
  uint32_t document_number = 0;

  bool parse_chunk(const Chunk& chunk, uint32_t file, RecordSink& sink);
  // Reads the chunk one JSON value at a time: values over several lines (`multiline`), or
  // values that are read by a dialect's own reader.
  bool parse_values(const Chunk& chunk, uint32_t file, RecordSink& sink, bool multiline);
  // One value: its records to the sink, or a bad line. False when the sink asked to stop.
  bool read_value(const JsonText& text, uint32_t file, uint64_t line, RecordSink& sink);
  // Reads flat lines from `begin` on; returns the offset of the first line it cannot read, and
  // in `lines` how many it read.
  size_t flat_pass(const Chunk& chunk, size_t begin, uint32_t file, RecordSink& sink,
                   uint64_t& lines);
  // Parses the lines in [begin, end) with simdjson; `end` follows a newline or ends the chunk.
  size_t simdjson_pass(const Chunk& chunk, size_t begin, size_t end, uint32_t file,
                       RecordSink& sink, bool& stop);
  // Returns the offset where the fast path stopped: `end` when it parsed everything.
  size_t fast_pass(const Chunk& chunk, size_t begin, size_t end, uint32_t file, RecordSink& sink);
  // Parses the line at `begin` on its own; returns the offset after its newline (after the last
  // of the partial lines it joined).
  size_t slow_line(const Chunk& chunk, size_t begin, uint32_t file, RecordSink& sink, bool& stop);
  // One line's text, `capacity` bytes readable from its start (simdjson's padding).
  void parse_line(std::string_view text, size_t capacity, uint32_t file, uint64_t line_number,
                  RecordSink& sink, bool& stop);
  // The CRI partial lines from `begin` and the line that closes them, joined into joined_line
  // (the first one's prefix, then every part): the offset after the closing line, or 0 when
  // the line at `begin` is no partial one or nothing in the chunk closes it.
  size_t join_partial_lines(const Chunk& chunk, size_t begin);
  std::string joined_line;

  simdjson::error_code read_object(od::object object, uint32_t node, int depth);
  simdjson::error_code collect_value(od::value value, const FieldTree::Node& node,
                                     std::string_view name);
  // The exc_type and exc_value of one element of an error that is a list, when it is an object.
  simdjson::error_code read_exception_entry(od::value element, PendingField& field);
  void apply_field(const PendingField& field, const FieldTree::Target& target);
  simdjson::error_code read_document(od::document_reference doc);
  void find_flat_nodes();
  // Whether the field fills this target of its node: a field may serve several roles (the same
  // name in two lists, as loguru's record.exception.type is the error type and, when the value
  // is empty, the error), and fills each whose role it can still improve.
  bool fills(const FieldTree::Target& target) const {
    return target.role == Role::scope || target.rank < record.filled_by[size_t(target.role)];
  }
  // Both parsers end here, so a value means the same whichever of them read it. Inlined into the
  // flat reader's loop, where a call for each of a record's fields cost some 4% of a run.
  [[gnu::always_inline]] inline void read_scalar(const JsonScalar& value,
                                                 const FieldTree::Target& target,
                                                 std::string_view name);

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
  // Kept from chunk to chunk: a log of nested records stays with simdjson.
  size_t simdjson_window = kFirstSimdjsonWindow;
};

RecordParser::RecordParser(const RoleConfig& roles, bool flat_lines)
    : roles_(roles), flat_lines_(flat_lines) {}
RecordParser::~RecordParser() = default;

RecordParser::Impl& RecordParser::impl_for(const InputFormat& format) {
  Dialect dialect = format.dialect == Dialect::automatic ? Dialect::json : format.dialect;
  if (std::string own = own_roles_key(format, roles_); !own.empty()) {
    std::string key = std::to_string(size_t(dialect)) + '\x1f' + own;
    auto& impl = task_field_impls_[key];
    if (!impl) {
      InputFormat as_read = format;
      as_read.dialect = dialect;
      impl = std::make_unique<Impl>(roles_for(as_read, roles_), flat_lines_, dialect,
                                    roles_.naive_offset);
    }
    return *impl;
  }
  auto& impl = impls_[size_t(dialect)];
  if (!impl)
    impl = std::make_unique<Impl>(roles_for(dialect, roles_), flat_lines_, dialect,
                                  roles_.naive_offset);
  return *impl;
}

bool RecordParser::parse_chunk(const Chunk& chunk, uint32_t file, RecordSink& sink,
                               const InputFormat& format) {
  Impl& impl = impl_for(format);
  bool own_reader = impl.dialect == Dialect::eliot || impl.dialect == Dialect::opentelemetry;
  if (format.multiline || own_reader) return impl.parse_values(chunk, file, sink, format.multiline);
  return impl.parse_chunk(chunk, file, sink);
}

namespace {

// The offset just past the first newline at or after `offset`, or the chunk's end.
size_t line_end_after(const Chunk& chunk, size_t offset) {
  if (offset >= chunk.size) return chunk.size;
  const void* nl = std::memchr(chunk.data + offset, '\n', chunk.size - offset);
  return nl ? size_t(static_cast<const char*>(nl) - chunk.data) + 1 : chunk.size;
}

}  // namespace

bool RecordParser::Impl::parse_chunk(const Chunk& chunk, uint32_t file, RecordSink& sink) {
  cursor_offset = 0;
  cursor_line = chunk.first_line;
  bool stop = false;
  size_t offset = 0;
  if (!flat_lines) return simdjson_pass(chunk, 0, chunk.size, file, sink, stop), !stop;
  while (offset < chunk.size && !stop) {
    uint64_t flat_run = 0;
    offset = flat_pass(chunk, offset, file, sink, flat_run);
    if (offset >= chunk.size) break;
    // A line now and then that the flat reader refuses (an escape in a message) is parsed
    // alone. When they come often (nested records), a window of lines goes to simdjson, and
    // the window grows while they keep coming: such a log costs what it did without the flat
    // reader.
    if (flat_run >= kLongFlatRun) {
      simdjson_window = kFirstSimdjsonWindow;
      offset = slow_line(chunk, offset, file, sink, stop);
      continue;
    }
    size_t end = line_end_after(chunk, offset + simdjson_window);
    simdjson_window = std::min(simdjson_window * 2, kMaxSimdjsonWindow);
    offset = simdjson_pass(chunk, offset, end, file, sink, stop);
  }
  return !stop;
}

size_t RecordParser::Impl::flat_pass(const Chunk& chunk, size_t begin, uint32_t file,
                                     RecordSink& sink, uint64_t& lines) {
  const char* p = chunk.data + begin;
  const char* end = chunk.data + chunk.size;
  const uint64_t first_line = line_at(chunk, begin);
  uint64_t line = first_line;
  while (p < end) {
    const char* next = flat.read(p, end);
    if (!next) break;
    if (!flat.blank()) {
      if (!flat.same_keys()) find_flat_nodes();
      record.clear();
      for (size_t i = 0; i < flat.size(); ++i) {
        if (!flat_nodes[i]) continue;
        const FlatField& field = flat.field(i);
        for (const FieldTree::Target& target : flat_nodes[i]->targets)
          if (fills(target)) read_scalar(field.value, target, field.key);
      }
      record.file = file;
      record.line = line;
      sink.on_record(record);
    }
    p = next;
    ++line;
  }
  // Each line read ended at a newline (or the chunk's end): the count goes on from here.
  cursor_offset = size_t(p - chunk.data);
  cursor_line = line;
  lines = line - first_line;
  return cursor_offset;
}

void RecordParser::Impl::find_flat_nodes() {
  for (size_t i = 0; i < flat.size(); ++i) {
    flat_nodes[i] = nullptr;
    auto name = tree.find_name(flat.field(i).key);
    if (!name) continue;
    if (auto child = tree.child(0, *name)) flat_nodes[i] = &tree.nodes[*child];
  }
  // Of duplicate keys the last wins: the earlier ones fill no role. The same key is the same
  // node. Checked once per shape, not per line.
  for (size_t i = 0; i < flat.size(); ++i)
    for (size_t j = i + 1; flat_nodes[i] && j < flat.size(); ++j)
      if (flat_nodes[j] == flat_nodes[i]) flat_nodes[i] = nullptr;
}

size_t RecordParser::Impl::simdjson_pass(const Chunk& chunk, size_t begin, size_t end,
                                         uint32_t file, RecordSink& sink, bool& stop) {
  size_t offset = begin;
  int restarts = 0;
  while (offset < end && !stop) {
    offset = fast_pass(chunk, offset, end, file, sink);
    int slow_lines = ++restarts > kMaxFastRestartsPerChunk ? INT32_MAX : kSlowLinesAfterError;
    for (int i = 0; i < slow_lines && offset < end && !stop; ++i)
      offset = slow_line(chunk, offset, file, sink, stop);
  }
  return offset;
}

size_t RecordParser::Impl::fast_pass(const Chunk& chunk, size_t begin, size_t end, uint32_t file,
                                     RecordSink& sink) {
  const char* base = chunk.data + begin;
  size_t size = end - begin;
  od::document_stream stream;
  if (stream_parser.iterate_many(base, size, kBatchSize).get(stream)) return begin;
  size_t good_end = 0;  // offset (from base) just past the last record handled
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    // A batch that failed to index (an unclosed string, bad UTF-8) has no documents to look at:
    // check before touching source(), which reads the index.
    od::document_reference doc;
    if ((*it).get(doc) != simdjson::SUCCESS) break;
    size_t index = it.current_index();
    // simdjson 3.0.1 can misreport a scalar document's length past the first batch: keep the
    // source inside the range parsed.
    std::string_view source = it.source();
    size_t room = size_t(base + size - source.data());
    source = trim_token(source.substr(0, std::min(source.size(), room)));
    // A document spanning lines means a damaged line was glued to the next, and anything but
    // blanks after a document before the newline is text after the object: redo them slowly.
    if (std::memchr(source.data(), '\n', source.size()) != nullptr) break;
    if (!only_blanks_to_newline(source.data() + source.size(), chunk.data + end)) {
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
  if (stream.truncated_bytes() == 0 && offset >= end) return end;
  return std::min(line_end_after(chunk, offset), end);
}

size_t RecordParser::Impl::slow_line(const Chunk& chunk, size_t begin, uint32_t file,
                                     RecordSink& sink, bool& stop) {
  uint64_t line_number = line_at(chunk, begin);
  if (size_t next = join_partial_lines(chunk, begin); next > 0) {
    parse_line(
        std::string_view(joined_line.data(), joined_line.size() - simdjson::SIMDJSON_PADDING),
        joined_line.size(), file, line_number, sink, stop);
    return next;
  }
  const char* line = chunk.data + begin;
  const void* nl = std::memchr(line, '\n', chunk.size - begin);
  size_t line_end = nl ? size_t(static_cast<const char*>(nl) - chunk.data) : chunk.size;
  parse_line(std::string_view(line, line_end - begin), chunk.capacity - begin, file, line_number,
             sink, stop);
  return nl ? line_end + 1 : chunk.size;
}

size_t RecordParser::Impl::join_partial_lines(const Chunk& chunk, size_t begin) {
  auto line_from = [&](size_t at) {
    const void* nl = std::memchr(chunk.data + at, '\n', chunk.size - at);
    size_t end = nl ? size_t(static_cast<const char*>(nl) - chunk.data) : chunk.size;
    std::string_view text(chunk.data + at, end - at);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    return std::pair{text, nl ? end + 1 : chunk.size};
  };
  auto [first, next] = line_from(begin);
  std::optional<RuntimePrefix> opening = runtime_prefix(first);
  if (!opening || !opening->partial) return 0;
  joined_line.assign(first);
  // The parts of one line are consecutive lines of its stream: anything else between them
  // leaves every line to be read alone, as before CRI joined them.
  while (next < chunk.size) {
    auto [text, after] = line_from(next);
    std::optional<RuntimePrefix> part = runtime_prefix(text);
    if (!part || part->stream != opening->stream) return 0;
    joined_line.append(text.substr(part->size));
    next = after;
    if (!part->partial) {
      joined_line.append(simdjson::SIMDJSON_PADDING, '\0');
      return next;
    }
  }
  return 0;
}

// The first line of a JSON array of records (`gcloud logging read`, `jq -s`): '[' and then an
// object or nothing. `[1, 2]` on a line of its own is some other JSON, and the hint to read
// the array's elements (`jq -c '.[]'`) would be wrong for it.
bool opens_array_of_records(std::string_view line) {
  size_t open = line.find_first_not_of(" \t\r");
  if (open == std::string_view::npos || line[open] != '[') return false;
  size_t next = line.find_first_not_of(" \t\r", open + 1);
  return next == std::string_view::npos || line[next] == '{';
}

void RecordParser::Impl::parse_line(std::string_view text, size_t capacity, uint32_t file,
                                    uint64_t line_number, RecordSink& sink, bool& stop) {
  while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return;  // a blank line
  const std::string_view whole = text;
  if (asyncio_text(whole, file, line_number, sink)) return;
  // A container runtime's prefix ("2026-... stdout F ") comes before the object's '{'.
  size_t brace = text.find('{');
  auto bad = [&](std::string reason) {
    if (is_traceback_text(whole)) reason = kTracebackText;
    if (opens_array_of_records(whole)) reason = kJsonArrayStart;
    if (compression_of(whole) != Compression::none) reason = kCompressedData;
    BadLine b{file, line_number, std::move(reason)};
    if (!sink.on_bad_line(b)) stop = true;
  };
  if (brace == std::string_view::npos) return bad("not a JSON object");
  text.remove_prefix(brace);
  capacity -= brace;
  od::document doc;
  auto err = line_parser.iterate(text.data(), text.size(), capacity).get(doc);
  if (err == simdjson::UTF8_ERROR && repair_utf8(text, repaired_line, simdjson::SIMDJSON_PADDING)) {
    text =
        std::string_view(repaired_line.data(), repaired_line.size() - simdjson::SIMDJSON_PADDING);
    err = line_parser.iterate(text.data(), text.size(), repaired_line.size()).get(doc);
  }
  if (err) return bad(std::string("invalid JSON: ") + simdjson::error_message(err));
  record.clear();
  if (auto err = read_document(doc))
    return bad(std::string("invalid JSON: ") + simdjson::error_message(err));
  // Still in bounds after the whole object: something follows it on the line.
  const char* after = nullptr;
  if (doc.current_location().get(after) == simdjson::SUCCESS)
    return bad("invalid JSON: text after the object");
  if (!record.has_time && !record.bad_time && brace > 0) time_from_prefix(whole.substr(0, brace));
  if (brace > 0) scope_from_prefix(whole.substr(0, brace));
  record.file = file;
  record.line = line_number;
  sink.on_record(record);
}

bool RecordParser::Impl::parse_values(const Chunk& chunk, uint32_t file, RecordSink& sink,
                                      bool multiline) {
  cursor_offset = 0;
  cursor_line = chunk.first_line;
  size_t pos = 0;
  while (pos < chunk.size) {
    size_t line_end = line_end_after(chunk, pos);
    std::string_view line(chunk.data + pos, line_end - pos);
    if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      pos = line_end;  // a blank line, or the blanks after a value
      continue;
    }
    auto bad = [&](size_t offset, std::string reason) {
      if (is_traceback_text(line.substr(0, line.find('\n')))) reason = kTracebackText;
      if (opens_array_of_records(line.substr(0, line.find('\n')))) reason = kJsonArrayStart;
      if (compression_of(line) != Compression::none) reason = kCompressedData;
      return sink.on_bad_line(BadLine{file, line_at(chunk, offset), std::move(reason)});
    };
    if (asyncio_text(line, file, line_at(chunk, pos), sink)) {
      pos = line_end;
      continue;
    }
    // A prefix before the object ("2026-... stdout F ") is left behind, as on any line.
    size_t brace = line.find('{');
    if (brace == std::string_view::npos) {
      if (!bad(pos, "not a JSON object")) return false;
      pos = line_end;
      continue;
    }
    size_t start = pos + brace;
    size_t limit = multiline ? chunk.size : line_end;
    size_t size = json_value_end(chunk.data + start, limit - start);
    if (size == kNoValueEnd) {
      if (!bad(start, "invalid JSON: the object does not close")) return false;
      // A damaged value written over lines: go on at the next line that opens one.
      pos = line_end;
      while (multiline && pos < chunk.size && chunk.data[pos] != '{')
        pos = line_end_after(chunk, pos);
      continue;
    }
    size_t end = start + size;
    if (!multiline && !only_blanks_to_newline(chunk.data + end, chunk.data + chunk.size)) {
      if (!bad(start, "invalid JSON: text after the object")) return false;
      pos = line_end;
      continue;
    }
    JsonText text{chunk.data + start, size, chunk.capacity - start};
    if (!read_value(text, file, line_at(chunk, start), sink)) return false;
    pos = end;
  }
  return true;
}

bool RecordParser::Impl::read_value(const JsonText& text, uint32_t file, uint64_t line,
                                    RecordSink& sink) {
  if (dialect == Dialect::opentelemetry) {
    std::string error;
    if (spans.read(text, file, line, sink, error)) return true;
    return sink.on_bad_line(BadLine{file, line, error});
  }
  od::document doc;
  JsonText source = text;
  auto error = line_parser.iterate(source.data, source.size, source.capacity).get(doc);
  if (error == simdjson::UTF8_ERROR &&
      repair_utf8({text.data, text.size}, repaired_line, simdjson::SIMDJSON_PADDING)) {
    source = JsonText{repaired_line.data(), repaired_line.size() - simdjson::SIMDJSON_PADDING,
                      repaired_line.size()};
    error = line_parser.iterate(source.data, source.size, source.capacity).get(doc);
  }
  record.clear();
  if (!error) error = read_document(doc);
  if (error)
    return sink.on_bad_line(
        BadLine{file, line, std::string("invalid JSON: ") + simdjson::error_message(error)});
  record.file = file;
  record.line = line;
  // An eliot record is its action's; a value without eliot's fields is read as it is.
  if (dialect == Dialect::eliot && eliot.read(source, record, sink)) return true;
  sink.on_record(record);
  return true;
}

simdjson::error_code RecordParser::Impl::read_document(od::document_reference doc) {
  od::json_type type;
  if (auto err = doc.type().get(type)) return err;
  if (type != od::json_type::object) return simdjson::INCORRECT_TYPE;
  od::object object;
  if (auto err = doc.get_object().get(object)) return err;
  pending.clear();
  pending_items.clear();
  if (++document_number == 0) {  // wrapped: an old document's spans would pass for this one's
    std::fill(key_spans.begin(), key_spans.end(), KeySpan{});
    document_number = 1;
  }
  if (auto err = read_object(object, 0, 0)) return err;
  for (const PendingField& field : pending)
    if (field.live)
      for (const FieldTree::Target& target : field.node->targets)
        if (fills(target)) apply_field(field, target);
  return simdjson::SUCCESS;
}

simdjson::error_code RecordParser::Impl::read_object(od::object object, uint32_t node, int depth) {
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
    // Of duplicate keys the last wins, as Python's json, JavaScript and jq read them: the
    // earlier value goes, with all that was read under it ("extra.task_id" in an earlier
    // "extra"). A node is one key of one object, so its span is that key's last value.
    KeySpan& span = key_spans[*child];
    if (span.document == document_number)
      for (uint32_t i = span.begin; i < span.end; ++i) pending[i].live = false;
    span = {document_number, uint32_t(pending.size()), uint32_t(pending.size())};
    od::value value = field.value();
    bool read_inside = false;
    if (!target_node.children.empty() && depth < kMaxPathDepth) {
      od::json_type type;
      if (auto err = value.type().get(type)) return err;
      if (type == od::json_type::object) {
        od::object inner;
        if (auto err = value.get_object().get(inner)) return err;
        if (auto err = read_object(inner, *child, depth + 1)) return err;
        read_inside = true;
      }
    }
    if (!read_inside && !target_node.targets.empty())
      if (auto err = collect_value(value, target_node, key)) return err;
    span.end = uint32_t(pending.size());
  }
  return simdjson::SUCCESS;
}

namespace {

using Kind = JsonScalar::Kind;

// A value simdjson found, as both parsers hand it to the roles. Literals are checked here,
// where the flat reader checks them as it reads.
simdjson::error_code to_scalar(od::value& value, od::json_type type, JsonScalar& out) {
  switch (type) {
    case od::json_type::string:
      out.kind = Kind::string;
      return string_text(value, out.text);
    case od::json_type::number:
      out = {Kind::number, trim_token(value.raw_json_token())};
      return simdjson::SUCCESS;
    case od::json_type::boolean: {
      bool b = false;
      if (auto err = value.get_bool().get(b)) return err;
      out = {Kind::boolean, b ? "true" : "false"};
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = value.is_null().get(is_null)) return err;
      out = {Kind::null, {}};
      return is_null ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
    default:
      out = {Kind::container, {}};
      return simdjson::SUCCESS;
  }
}

bool serves(const FieldTree::Node& node, Role role) {
  for (const auto& target : node.targets)
    if (target.role == role) return true;
  return false;
}

// A task id (the task, parent and awaits roles) is a non-empty string or an integer as written:
// true, 1.5, 1e3, null, an object or an array names no task. Nor does "None": Python's str(None),
// which a format string's %(taskName)s writes for a record logged outside any task.
bool is_task_id(const JsonScalar& value) {
  if (value.kind == Kind::string) return !value.text.empty() && value.text != "None";
  return value.kind == Kind::number && is_json_integer(value.text);
}

// A timeout written as a number of seconds; none when it is out of (0, 1e9) seconds or past
// double's range (1e999), which leaves the record good.
std::optional<int64_t> timeout_from_seconds(std::string_view text) {
  if (!is_json_number(text)) return std::nullopt;
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (seconds > 0 && seconds < 1e9) return int64_t(seconds * 1e9);
  return std::nullopt;
}

}  // namespace

simdjson::error_code RecordParser::Impl::read_exception_entry(od::value element,
                                                              PendingField& field) {
  od::json_type type;
  if (auto err = element.type().get(type)) return err;
  if (type != od::json_type::object) return simdjson::SUCCESS;
  od::object object;
  if (auto err = element.get_object().get(object)) return err;
  for (auto member_result : object) {
    od::field member;
    if (auto err = std::move(member_result).get(member)) return err;
    std::string_view key;
    if (auto err = key_text(member, key)) return err;
    if (key != "exc_type" && key != "exc_value") continue;
    od::value value = member.value();
    od::json_type value_type;
    if (auto err = value.type().get(value_type)) return err;
    if (value_type != od::json_type::string) continue;
    std::string_view text;
    if (auto err = string_text(value, text)) return err;
    (key == "exc_type" ? field.exc_type : field.exc_value) = text;
    field.exception_list = true;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code RecordParser::Impl::collect_value(od::value value, const FieldTree::Node& node,
                                                       std::string_view name) {
  PendingField field;
  field.node = &node;
  field.name = name;
  od::json_type type;
  if (auto err = value.type().get(type)) return err;
  field.array = type == od::json_type::array;
  // Containers mean something to two roles only: a list of awaited tasks, a non-empty error.
  if (field.array && serves(node, Role::awaits)) {
    od::array array;
    if (auto err = value.get_array().get(array)) return err;
    field.items_begin = uint32_t(pending_items.size());
    for (auto element_result : array) {
      od::value element;
      if (auto err = std::move(element_result).get(element)) return err;
      od::json_type element_type;
      if (auto err = element.type().get(element_type)) return err;
      JsonScalar scalar;
      if (auto err = to_scalar(element, element_type, scalar)) return err;
      pending_items.push_back(scalar);
    }
    field.items_end = uint32_t(pending_items.size());
    field.members = field.items_end - field.items_begin;
  } else if (field.array && serves(node, Role::error)) {
    // structlog's dict_tracebacks writes [{"exc_type", "exc_value", "frames", ...}, ...], the
    // exception raised last first, then its cause or context: the first one is the error.
    od::array array;
    if (auto err = value.get_array().get(array)) return err;
    size_t n = 0;
    for (auto element_result : array) {
      od::value element;
      if (auto err = std::move(element_result).get(element)) return err;
      if (n++ == 0)
        if (auto err = read_exception_entry(element, field)) return err;
    }
    field.members = uint32_t(std::min<size_t>(n, UINT32_MAX));
  } else if (type == od::json_type::object && serves(node, Role::error)) {
    size_t n = 0;
    if (auto err = value.count_fields().get(n)) return err;
    field.members = uint32_t(std::min<size_t>(n, UINT32_MAX));
  }
  if (auto err = to_scalar(value, type, field.value)) return err;
  pending.push_back(field);
  return simdjson::SUCCESS;
}

void RecordParser::Impl::apply_field(const PendingField& field, const FieldTree::Target& target) {
  RawRecord& r = record;
  if (field.value.kind == Kind::container) {
    if (field.array && target.role == Role::awaits) {
      // An array of task ids; an element that is none (true, 1.5, null) is left out.
      r.awaits.clear();
      for (uint32_t i = field.items_begin; i < field.items_end; ++i)
        if (is_task_id(pending_items[i])) r.awaits.push_back(pending_items[i].text);
      r.filled_by[size_t(target.role)] = target.rank;
      return;
    }
    if (target.role == Role::error) {
      // An empty one says nothing, and lets the next field of the role speak (below too).
      if (field.members == 0) return;
      r.has_error = true;
      r.filled_by[size_t(target.role)] = target.rank;
      if (field.exception_list) {
        r.error_text = field.exc_value;
        // A field of the error-type role, before or after, says it better.
        if (r.filled_by[size_t(Role::error_type)] == RawRecord::kNoField)
          r.error_type = field.exc_type;
      }
      return;
    }
  }
  read_scalar(field.value, target, field.name);
}

void RecordParser::Impl::read_scalar(const JsonScalar& value, const FieldTree::Target& target,
                                     std::string_view name) {
  RawRecord& r = record;
  uint8_t& filled = r.filled_by[size_t(target.role)];
  std::string_view text = value.text;
  switch (target.role) {
    case Role::time: {
      if (value.kind == Kind::null) return;
      std::optional<ParsedTime> t;
      if (value.kind == Kind::number)
        t = parse_epoch_number(text);
      else if (value.kind == Kind::string)
        t = parse_time_string(text);
      filled = target.rank;
      if (!t) {
        r.bad_time = true;
        r.has_time = false;
        return;
      }
      place_in_zone(*t, naive_offset);
      r.has_time = true;
      r.bad_time = false;
      r.time_ns = t->ns;
      r.time_form = t->form;
      r.utc_offset = t->utc_offset;
      return;
    }
    case Role::awaits:
      if (!is_task_id(value)) return;
      r.awaits.assign(1, text);
      filled = target.rank;
      return;
    case Role::error:
      if (value.kind == Kind::string && !text.empty()) {
        r.has_error = true;
        r.error_text = text;
        filled = target.rank;
      } else if (value.kind == Kind::boolean && text == "true") {
        r.has_error = true;
        r.error_text = {};
        filled = target.rank;
      }
      return;
    case Role::timeout: {
      std::optional<int64_t> ns;
      if (value.kind == Kind::number)
        ns = timeout_from_seconds(text);
      else if (value.kind == Kind::string)
        ns = parse_duration(text);
      if (!ns) return;
      r.has_timeout = true;
      r.timeout_ns = *ns;
      filled = target.rank;
      return;
    }
    case Role::attempt: {
      int64_t first_retry = target.first_retry;
      int64_t n = 0;
      for (char c : text) {
        if (c < '0' || c > '9' || n > 1000000) break;
        n = n * 10 + (c - '0');
      }
      r.retry = n >= first_retry || text == "true";
      // A count of retries (first_retry 1) is the try's number less one.
      bool number = !text.empty() && text.front() >= '0' && text.front() <= '9';
      r.attempt = number ? uint32_t(n + 2 - first_retry) : 0;
      filled = target.rank;
      return;
    }
    case Role::scope:
      if (text.empty()) return;
      if (!r.scope.empty()) r.scope.push_back('\x1f');
      r.scope.append(target.label.empty() ? name : target.label);
      r.scope.push_back('=');
      r.scope.append(text);
      filled = std::min(filled, target.rank);
      return;
    default:
      break;
  }
  // The string roles: task, stage, status, parent, error type, level and the module's. A task or a
  // parent names a task: only a task id does.
  if (text.empty()) return;
  switch (target.role) {
    case Role::task:
      if (!is_task_id(value)) return;
      r.task = text;
      r.has_task = true;
      break;
    case Role::stage:
      r.stage = text;
      r.stage_from_message = target.message;
      break;
    case Role::status:
      r.status = text;
      break;
    case Role::parent:
      if (!is_task_id(value)) return;
      r.parent = text;
      break;
    case Role::error_type:
      r.error_type = text;
      break;
    case Role::level:
      r.level = text;
      break;
    case Role::marker:
      r.marker = text;
      break;
    case Role::waiting_for:
      r.waiting_for = text;
      break;
    case Role::suspended_at:
      r.suspended_at = text;
      break;
    default:
      break;
  }
  filled = target.rank;
}

}  // namespace coroner
