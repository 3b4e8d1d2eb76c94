#pragma once
// The pm.status_path page: a snapshot of the pool's scoreboard rendered in
// php-fpm's formats (sapi/fpm/fpm/fpm_status.c, PHP 8.1+): text, ?json,
// ?xml, ?html, ?openmetrics, each optionally with ?full per-process detail.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pool/scoreboard.h"

namespace cppfpm::pool {

struct StatusSnapshot {
  std::string pool, process_manager;  // "www", "static" | "dynamic" | "ondemand"
  std::int64_t start_unix = 0, now_unix = 0;
  std::uint64_t accepted_conn = 0, listen_queue = 0, max_listen_queue = 0, listen_queue_len = 0;
  int idle = 0, active = 0, total = 0, max_active = 0;
  std::uint64_t max_children_reached = 0, slow_requests = 0;

  struct Process {
    pid_t pid = 0;
    std::string state;  // "Idle" | "Running" | "Finishing"
    std::int64_t start_unix = 0;
    std::uint64_t requests = 0;
    std::int64_t request_duration_us = 0;  // the current request if running, else the last one
    std::string request_method, request_uri, script;
    std::string query;  // shown after request_uri as "?query", escaped per format as php-fpm does
    std::int64_t content_length = 0;
    // Of an idle child's last request, as php-fpm shows them (0 while
    // running): the CPU the worker thread used, in percent of the request's
    // duration; and the child's peak resident set size in bytes (a thread
    // has no memory of its own: this is the most the process held).
    double last_request_cpu = 0;
    std::int64_t last_request_memory = 0;
  };
  std::vector<Process> processes;
};

// Reads the scoreboard; each worker thread's text is read consistently
// (seqlock). A running child shows its oldest in-flight request; an idle
// one the request its worker threads finished last. `listen_fd` is the pool's listening socket: for
// TCP the queue comes from TCP_INFO and raises the board's max_listen_queue; for unix sockets (or
// -1) the queue fields are 0.
StatusSnapshot take_snapshot(Scoreboard& board, const std::string& pool, std::string_view pm,
                             int listen_fd);

struct StatusQuery {
  enum class Format { text, json, xml, html, openmetrics } format = Format::text;
  bool full = false;
};

// The page's QUERY_STRING as php-fpm reads $_GET: a key's presence counts,
// with any value ("json", "full&json", "html=1&full").
StatusQuery parse_status_query(std::string_view query_string);

// The body in the requested format; sets `content_type` to php-fpm's.
std::string render_status(const StatusSnapshot& s, const StatusQuery& q, std::string& content_type);

}  // namespace cppfpm::pool
