// CPython asyncio's own messages, written from __del__ and the garbage collector: they name the
// task in its repr, not in the record's task field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coroner {

enum class AsyncioMessage : uint8_t {
  exception_never_retrieved,  // "Task exception was never retrieved" (or a Future's)
  destroyed_pending,          // "Task was destroyed but it is pending!"
  never_awaited,              // "coroutine 'f' was never awaited"
  callback_raised,            // "Exception in callback Heartbeat.beat()": no task can catch it
};

// The names that a Future's and a callback's lost exceptions are told under: they belong to no
// task, so each is a task of its own that never logged ("callback Heartbeat.beat()").
inline constexpr std::string_view kLostFutureName = "a Future";
inline constexpr std::string_view kCallbackPrefix = "callback ";

struct AsyncioNote {
  AsyncioMessage kind;
  std::string task_name;              // from the repr's name='...'; empty when the message has none
  std::string detail;                 // the exception in the repr, or the coroutine's name
  uint32_t scope = 0;                 // the scope of the record that carried it
  uint32_t record_task = UINT32_MAX;  // the record's own task, when it had one
  uint32_t task = UINT32_MAX;         // the task it is about: set by TaskStore::finish()
  int64_t time = 0;
  uint32_t file = 0;
  uint64_t line = 0;
};

// The line of asyncio's text that names the task ("future: <Task finished name='Task-16' coro=...
// exception=TimeoutError(...)>"), second of its message's lines.
inline constexpr std::string_view kNeverRetrievedLine = "future: <Task finished ";
inline constexpr std::string_view kDestroyedPendingLine = "task: <Task pending ";

// Recognises one of the three messages in a record's text, or the line above of one of the first
// two alone; nullopt for anything else.
std::optional<AsyncioNote> parse_asyncio_message(std::string_view text);

// The exception's own line of a Python traceback: the first line after its last frame (frames
// are indented; a message that goes on over more lines is left at its first).
std::string_view exception_line(std::string_view traceback);

// A Python traceback as traceback.format_exc() writes it: "Traceback (most recent call last):",
// or an exception group's "  + Exception Group Traceback (most recent call last):".
bool is_traceback(std::string_view text);

// The exception's own line of a traceback (is_traceback): that of the exception raised last, after
// any "During handling of the above exception" or "The above exception was the direct cause";
// for an exception group, the line of its first sub-exception (of the first's first, for nested
// groups), which says what went wrong where the group's own line ("ExceptionGroup: unhandled
// errors in a TaskGroup (1 sub-exception)") does not. `others`, when given, gets how many other
// sub-exceptions the group holds (0 for a plain traceback).
std::string_view traceback_exception_line(std::string_view text, uint32_t* others = nullptr);

// "ValueError" from "ValueError: boom", from a traceback's exception line, or from a repr
// "exception=ValueError('boom')". Empty when none can be told.
std::string_view exception_type_of(std::string_view text);

}  // namespace coroner
