#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <string_view>

#include "coroner/asyncio_messages.hpp"

namespace {

using coroner::AsyncioMessage;
using coroner::exception_type_of;
using coroner::parse_asyncio_message;

// CPython 3.11's texts, as python-json-logger wrote them in tests/fixtures/jsonlogger.jsonl and
// by a real asyncio program's stdlib logging.
constexpr std::string_view kNeverRetrieved =
    "Task exception was never retrieved\nfuture: <Task finished name='Task-8' coro=<flaky() done, "
    "defined at /work/main/tests/fixtures/gen/gen_jsonlogger.py:76> exception=ValueError('boom')>";
constexpr std::string_view kNeverRetrievedDoubleQuotes =
    "Task exception was never retrieved\nfuture: <Task finished name='worker-11' coro=<worker() "
    "done, defined at /srv/app/worker.py:438> exception=ValueError(\"invalid literal for int() "
    "with base 10: b'12a'\")>";
constexpr std::string_view kDestroyedPending =
    "Task was destroyed but it is pending!\ntask: <Task pending name='Task-9' coro=<stuck() "
    "running at /work/main/tests/fixtures/gen/gen_jsonlogger.py:87> wait_for=<Future pending "
    "cb=[Task.task_wakeup()]>>";
constexpr std::string_view kDestroyedPendingMoreCallbacks =
    "Task was destroyed but it is pending!\ntask: <Task pending name='worker-3' coro=<worker() "
    "running at /srv/app/worker.py:449> wait_for=<Future pending cb=[Task.task_wakeup(), <2 "
    "more>, Task.task_wakeup()]>>";
constexpr std::string_view kNeverAwaited =
    "/srv/app/worker.py:459: RuntimeWarning: coroutine 'flush_metrics' was never awaited\n  "
    "flush_metrics()  # forgotten await: RuntimeWarning through logging\n";
constexpr std::string_view kTraceback =
    "Traceback (most recent call last):\n  File \"/srv/app/worker.py\", line 451, in worker\n    "
    "parse_header(header)  # raises\n    ^^^^^^^^^^^^^^^^^^^^\n  File \"/srv/app/worker.py\", line "
    "435, in parse_header\n    return int(raw.split(b\":\")[1])\n           "
    "^^^^^^^^^^^^^^^^^^^^^^^\nValueError: invalid literal for int() with base 10: b'12a'";

}  // namespace

TEST_CASE("coroner::AsyncioMessages") {
  SUBCASE("Task exception was never retrieved: the repr's name and exception") {
    auto note = parse_asyncio_message(kNeverRetrieved);
    REQUIRE(note.has_value());
    CHECK(note->kind == AsyncioMessage::exception_never_retrieved);
    CHECK(note->task_name == "Task-8");
    CHECK(note->detail == "ValueError('boom')");
  }

  SUBCASE("never retrieved, the exception's repr in double quotes") {
    auto note = parse_asyncio_message(kNeverRetrievedDoubleQuotes);
    REQUIRE(note.has_value());
    CHECK(note->kind == AsyncioMessage::exception_never_retrieved);
    CHECK(note->task_name == "worker-11");
    CHECK(note->detail == "ValueError(\"invalid literal for int() with base 10: b'12a'\")");
  }

  SUBCASE("Task was destroyed but it is pending!") {
    for (auto [text, name] : {std::pair{kDestroyedPending, "Task-9"},
                              std::pair{kDestroyedPendingMoreCallbacks, "worker-3"}}) {
      auto note = parse_asyncio_message(text);
      REQUIRE(note.has_value());
      CHECK(note->kind == AsyncioMessage::destroyed_pending);
      CHECK(note->task_name == name);
      CHECK(note->detail.empty());
    }
  }

  SUBCASE("coroutine ... was never awaited: the coroutine's name, no task") {
    auto note = parse_asyncio_message(kNeverAwaited);
    REQUIRE(note.has_value());
    CHECK(note->kind == AsyncioMessage::never_awaited);
    CHECK(note->task_name.empty());
    CHECK(note->detail == "flush_metrics");
  }

  SUBCASE("a name holding ' is quoted with \", and one holding \" with '") {
    auto note = parse_asyncio_message(
        "Task exception was never retrieved\nfuture: <Task finished name=\"it's-7\" coro=<f() "
        "done, defined at x.py:1> exception=KeyError('k')>");
    REQUIRE(note.has_value());
    CHECK(note->task_name == "it's-7");
    CHECK(note->detail == "KeyError('k')");
    note = parse_asyncio_message(
        "Task was destroyed but it is pending!\ntask: <Task pending name='say \"hi\"' coro=<g() "
        "running at x.py:2>>");
    REQUIRE(note.has_value());
    CHECK(note->task_name == "say \"hi\"");
  }

  SUBCASE("a message without a repr has no task name") {
    auto note = parse_asyncio_message("Task was destroyed but it is pending!");
    REQUIRE(note.has_value());
    CHECK(note->kind == AsyncioMessage::destroyed_pending);
    CHECK(note->task_name.empty());
  }

  SUBCASE("ordinary messages are not asyncio's") {
    for (std::string_view text :
         {std::string_view("fetch_data timed out"), std::string_view("job started"),
          std::string_view("worker failed"), std::string_view(""), std::string_view("Task-8"),
          std::string_view("Task exception was retrieved and handled by the caller"),
          std::string_view("the task was destroyed on purpose")}) {
      INFO("text: " << text);
      CHECK_FALSE(parse_asyncio_message(text).has_value());
    }
  }
}

// Python writes name='a\'b"c' for a name holding both quotes; the parser stops at the escaped one.
TEST_CASE("coroner::AsyncioMessages a Future's and a callback's lost exceptions") {
  // As the asyncio module writes them (CPython's default handler's message, then the context).
  auto future = parse_asyncio_message(
      "Future exception was never retrieved <Future finished exception=ValueError(\"bad config: "
      "'oops'\")>");
  REQUIRE(future);
  CHECK(future->kind == AsyncioMessage::exception_never_retrieved);
  CHECK(future->task_name == coroner::kLostFutureName);
  CHECK(future->detail == "ValueError(\"bad config: 'oops'\")");
  auto callback = parse_asyncio_message("Exception in callback Heartbeat.beat()\nhandle: <...>");
  REQUIRE(callback);
  CHECK(callback->kind == AsyncioMessage::callback_raised);
  CHECK(callback->task_name == "callback Heartbeat.beat()");
  // Named without its arguments, whose reprs change from run to run.
  auto inner = parse_asyncio_message(
      "Exception in callback StreamReaderProtocol.connection_made.<locals>.callback(<Task "
      "cancelled name='Task-9' coro=<handle() done, defined at /srv/app.py:8>>) at /x.py:251");
  REQUIRE(inner);
  CHECK(inner->task_name == "callback StreamReaderProtocol.connection_made.<locals>.callback()");
  // A stage that only mentions a callback is none of them.
  CHECK_FALSE(parse_asyncio_message("retrying the exception in callback registration"));
}

TEST_CASE("coroner::AsyncioMessages a name holding both quotes") {
  auto note = parse_asyncio_message(
      "Task exception was never retrieved\nfuture: <Task finished name='a\\'b\"c' coro=<f() done, "
      "defined at x.py:1> exception=ValueError('x')>");
  REQUIRE(note.has_value());
  CHECK(note->task_name == "a'b\"c");
}

TEST_CASE("coroner::traceback_exception_line: exception groups") {
  // As Python 3.11's traceback.format_exc() writes them.
  const char* task_group =
      "  + Exception Group Traceback (most recent call last):\n"
      "  |   File \"/tmp/p17.py\", line 40, in batch\n"
      "  |     async with asyncio.TaskGroup() as tg:\n"
      "  |   File \"/usr/lib/python3.11/asyncio/taskgroups.py\", line 133, in __aexit__\n"
      "  |     raise me from None\n"
      "  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n"
      "  +-+---------------- 1 ----------------\n"
      "    | Traceback (most recent call last):\n"
      "    |   File \"/tmp/p17.py\", line 31, in fetch\n"
      "    |     raise ConnectionResetError(\"peer reset the connection\")\n"
      "    | ConnectionResetError: peer reset the connection\n"
      "    +------------------------------------\n";
  CHECK(coroner::is_traceback(task_group));
  uint32_t others = 99;
  CHECK(coroner::traceback_exception_line(task_group, &others) ==
        "ConnectionResetError: peer reset the connection");
  CHECK(others == 0);
  CHECK(exception_type_of(task_group) == "ConnectionResetError");

  // Several, the first a group of its own never raised, one message over two lines.
  const char* several =
      "  + Exception Group Traceback (most recent call last):\n"
      "  |   File \"<stdin>\", line 7, in a\n"
      "  | ExceptionGroup: eg (3 sub-exceptions)\n"
      "  +-+---------------- 1 ----------------\n"
      "    | ExceptionGroup: inner (1 sub-exception)\n"
      "    +-+---------------- 1 ----------------\n"
      "      | KeyError: 'k'\n"
      "      +------------------------------------\n"
      "    +---------------- 2 ----------------\n"
      "    | ValueError: v1\n"
      "    +---------------- 3 ----------------\n"
      "    | TypeError: t\n"
      "    | multiline\n"
      "    +------------------------------------\n";
  CHECK(coroner::traceback_exception_line(several, &others) == "KeyError: 'k'");
  CHECK(others == 2);

  // A nested TaskGroup's group, raised, as the first sub-exception; its own sub-exception chained.
  const char* nested =
      "  + Exception Group Traceback (most recent call last):\n"
      "  |   File \"<stdin>\", line 8, in top\n"
      "  | ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)\n"
      "  +-+---------------- 1 ----------------\n"
      "    | Exception Group Traceback (most recent call last):\n"
      "    |   File \"<stdin>\", line 5, in mid\n"
      "    | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n"
      "    +-+---------------- 1 ----------------\n"
      "      | Traceback (most recent call last):\n"
      "      |   File \"<stdin>\", line 21, in inner\n"
      "      | OSError: cause\n"
      "      | \n"
      "      | The above exception was the direct cause of the following exception:\n"
      "      | \n"
      "      | Traceback (most recent call last):\n"
      "      |   File \"<stdin>\", line 3, in leaf\n"
      "      | ConnectionResetError: peer reset\n"
      "      +------------------------------------\n"
      "    +---------------- 2 ----------------\n"
      "    | Traceback (most recent call last):\n"
      "    |   File \"<stdin>\", line 3, in leaf\n"
      "    | ValueError: second\n"
      "    +------------------------------------\n";
  CHECK(coroner::traceback_exception_line(nested, &others) == "ConnectionResetError: peer reset");
  CHECK(others == 1);

  // Chains: the exception raised last, a group or not.
  const char* group_then_plain =
      "  + Exception Group Traceback (most recent call last):\n"
      "  |   File \"<stdin>\", line 10, in b\n"
      "  | ExceptionGroup: eg (1 sub-exception)\n"
      "  +-+---------------- 1 ----------------\n"
      "    | ValueError: v1\n"
      "    +------------------------------------\n\n"
      "During handling of the above exception, another exception occurred:\n\n"
      "Traceback (most recent call last):\n"
      "  File \"<stdin>\", line 12, in b\n"
      "KeyError: 'after'\n";
  CHECK(coroner::traceback_exception_line(group_then_plain, &others) == "KeyError: 'after'");
  CHECK(others == 0);
  CHECK(exception_type_of(group_then_plain) == "KeyError");
  const char* plain_then_group =
      "Traceback (most recent call last):\n"
      "  File \"<stdin>\", line 15, in c\n"
      "KeyError: 'first'\n\n"
      "The above exception was the direct cause of the following exception:\n\n"
      "  + Exception Group Traceback (most recent call last):\n"
      "  |   File \"<stdin>\", line 17, in c\n"
      "  | ExceptionGroup: eg2 (1 sub-exception)\n"
      "  +-+---------------- 1 ----------------\n"
      "    | ValueError: v2\n"
      "    +------------------------------------\n";
  CHECK(coroner::traceback_exception_line(plain_then_group) == "ValueError: v2");
  CHECK(exception_type_of(plain_then_group) == "ValueError");

  // Cut short before its sub-exceptions: the group's own line.
  CHECK(coroner::traceback_exception_line("  + Exception Group Traceback (most recent call last):\n"
                                          "  |   File \"x.py\", line 1, in f\n"
                                          "  | ExceptionGroup: eg (2 sub-exceptions)\n") ==
        "ExceptionGroup: eg (2 sub-exceptions)");
  CHECK_FALSE(coroner::is_traceback("  + a note"));
  CHECK_FALSE(coroner::is_traceback("fetch failed"));
}

TEST_CASE("coroner::exception_type_of") {
  SUBCASE("a message starting with the type") {
    CHECK(exception_type_of("ValueError: boom") == "ValueError");
    CHECK(exception_type_of("KeyError: 'price'") == "KeyError");
    CHECK(exception_type_of("asyncio.TimeoutError") == "asyncio.TimeoutError");
    CHECK(exception_type_of("asyncio.exceptions.TimeoutError: ") ==
          "asyncio.exceptions.TimeoutError");
    CHECK(exception_type_of("ValueError: invalid item 10: missing field 'price'") == "ValueError");
  }

  SUBCASE("a traceback: its last line") {
    CHECK(exception_type_of(kTraceback) == "ValueError");
    CHECK(exception_type_of(std::string(kTraceback) + "\n\n") == "ValueError");
    CHECK(exception_type_of("Traceback (most recent call last):\n  File \"x.py\", line 50, in "
                            "job\n    _ = payload[\"price\"]\nKeyError: 'price'") == "KeyError");
  }

  SUBCASE("a traceback whose message goes on over lines: its exception line") {
    const char* multi =
        "Traceback (most recent call last):\n  File \"x.py\", line 5, in f\n    g()\n"
        "ValueError: first line\nsecond line of the message";
    CHECK(exception_type_of(multi) == "ValueError");
    CHECK(coroner::exception_line(multi) == "ValueError: first line");
    // Chained: the exception raised last.
    const char* chained =
        "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\n"
        "asyncio.exceptions.CancelledError\n\nThe above exception was the direct cause of the "
        "following exception:\n\nTraceback (most recent call last):\n  File \"b.py\", line 2, "
        "in g\nTimeoutError";
    CHECK(coroner::exception_line(chained) == "TimeoutError");
    CHECK(exception_type_of(chained) == "TimeoutError");
  }

  SUBCASE("a never-retrieved repr in debug mode: the exception, not the source traceback") {
    auto note = coroner::parse_asyncio_message(
        "Task exception was never retrieved\nfuture: <Task finished name='job-1' coro=<f() done, "
        "defined at x.py:1> exception=KeyError('ttl') created at /usr/lib/python3.11/asyncio/"
        "tasks.py:374>\nsource_traceback: Object created at (most recent call last):\n  File "
        "\"x.py\", line 9, in <module>\n    main()");
    REQUIRE(note.has_value());
    CHECK(note->detail == "KeyError('ttl')");
  }

  SUBCASE("a repr: the exception= part") {
    CHECK(exception_type_of(kNeverRetrieved) == "ValueError");
    CHECK(exception_type_of(kNeverRetrievedDoubleQuotes) == "ValueError");
    CHECK(exception_type_of("exception=TimeoutError()") == "TimeoutError");
  }

  SUBCASE("text that names no exception") {
    CHECK(exception_type_of("fetch_data timed out") == "");
    CHECK(exception_type_of("could not parse payload") == "");
    CHECK(exception_type_of("") == "");
    CHECK(exception_type_of("\n\n") == "");
    CHECK(exception_type_of("boom: it broke") == "");
    CHECK(exception_type_of("Worker crashed hard") == "");
    CHECK(exception_type_of(kDestroyedPending) == "");
  }
}
