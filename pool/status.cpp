#include "pool/status.h"

#include "pool/status_escape.h"
#include "server/text/html.h"
#include "server/text/query_string.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <utility>

namespace cppfpm::pool {
namespace {

constexpr std::int64_t kMicros = 1000000;
constexpr int kSeqlockAttempts = 1000;

// ---------------------------------------------------------------- reading

struct ThreadRequest {
  std::int64_t start_us = 0;
  std::string method, script, query;
};

template <std::size_t N>
std::string bounded_text(const char (&text)[N]) {
  return std::string(text, ::strnlen(text, N));
}

// A thread slot's text is written between two increments of `seq`, so a
// copy taken while `seq` was even and stayed unchanged is one request's.
// `request_start_us` is checked again too: the thread may have moved on.
bool read_thread(ThreadSlot& t, ThreadRequest& out) {
  for (int attempt = 0; attempt < kSeqlockAttempts; ++attempt) {
    std::uint32_t before = t.seq.load(std::memory_order_acquire);
    if (before & 1u) continue;
    std::int64_t start = t.request_start_us.load(std::memory_order_acquire);
    char method[sizeof t.method], script[sizeof t.script], query[sizeof t.query];
    std::memcpy(method, t.method, sizeof method);
    std::memcpy(script, t.script, sizeof script);
    std::memcpy(query, t.query, sizeof query);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (t.seq.load(std::memory_order_relaxed) != before || t.request_start_us.load() != start)
      continue;
    out = {start, bounded_text(method), bounded_text(script), bounded_text(query)};
    return true;
  }
  return false;
}

const char* state_name(int state) {
  if (state == static_cast<int>(ChildState::active)) return "Running";
  if (state == static_cast<int>(ChildState::finishing)) return "Finishing";
  return "Idle";
}

StatusSnapshot::Process read_child(Scoreboard& board, int index, int state, std::int64_t now) {
  ChildSlot& c = board.child(index);
  StatusSnapshot::Process p;
  p.pid = c.pid.load();
  p.state = state_name(state);
  p.start_unix = c.started_us.load() / kMicros;
  p.requests = c.requests.load();

  // The oldest request in flight, whatever the state says: a finishing
  // child may still be serving, and the state flips after the threads.
  ThreadRequest shown, candidate;
  bool in_flight = false;
  for (int t = 0; t < board.threads(); ++t) {
    if (!read_thread(board.thread(index, t), candidate) || candidate.start_us == 0) continue;
    if (!in_flight || candidate.start_us < shown.start_us) shown = std::move(candidate);
    in_flight = true;
  }
  bool known = in_flight;
  if (in_flight) {
    p.request_duration_us = now > shown.start_us ? now - shown.start_us : 0;
  } else {
    p.request_duration_us = c.last_request_us.load();
    // With several threads the board does not say which one finished last;
    // with one, its slot still holds the last request's text.
    if (board.threads() == 1 && p.requests > 0) known = read_thread(board.thread(index, 0), shown);
  }
  if (known) {
    p.request_method = shown.method;
    p.request_uri = shown.script;
    p.script = shown.script;
    p.query = shown.query;
  }
  return p;
}

// Linux, for a TCP socket in LISTEN state: tcpi_unacked is the accept
// queue's current length and tcpi_sacked its limit (the listen backlog).
void read_listen_queue(int fd, StatusSnapshot& s) {
  if (fd < 0) return;
  sockaddr_storage addr{};
  socklen_t addr_len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) return;
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return;
  tcp_info info{};
  socklen_t info_len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &info_len) != 0) return;
  if (info.tcpi_state != TCP_LISTEN) return;
  s.listen_queue = info.tcpi_unacked;
  s.listen_queue_len = info.tcpi_sacked;
}

std::uint64_t raise_to(std::atomic<std::uint64_t>& target, std::uint64_t value) {
  std::uint64_t seen = target.load();
  while (seen < value && !target.compare_exchange_weak(seen, value)) {
  }
  return seen < value ? value : seen;
}

// ------------------------------------------------------------- rendering

using Format = StatusQuery::Format;

// strftime "%d/%b/%Y:%H:%M:%S %z" in local time, without the locale.
std::string clf_time(std::int64_t unix_time) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = static_cast<time_t>(unix_time);
  tm local{};
  ::localtime_r(&t, &local);
  long offset = local.tm_gmtoff / 60;
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02d/%s/%d:%02d:%02d:%02d %c%02ld%02ld", local.tm_mday,
                kMonths[local.tm_mon], local.tm_year + 1900, local.tm_hour, local.tm_min,
                local.tm_sec, sign, offset / 60, offset % 60);
  return buf;
}

std::string time_field(Format f, std::int64_t unix_time) {
  if (f == Format::text || f == Format::html) return clf_time(unix_time);
  return std::to_string(unix_time);
}

std::string text_field(Format f, std::string_view value) {
  if (f == Format::json) return json_text(value);
  // htmlspecialchars() with ENT_COMPAT, as php-fpm applies to the query
  // for ?xml and ?html; used for every text field so markup stays markup.
  if (f == Format::xml || f == Format::html) return text::html_escape(value, text::Quotes::compat);
  return std::string(value);
}

std::string dash(std::string_view value) {
  return value.empty() ? "-" : std::string(value);
}

std::uint64_t since(std::int64_t now, std::int64_t then) {
  return now > then ? static_cast<std::uint64_t>(now - then) : 0;
}

struct Field {
  const char* name;
  std::string value;
  bool quoted = false;  // a JSON string
};

std::vector<Field> pool_fields(const StatusSnapshot& s, Format f) {
  return {
      {"pool", text_field(f, s.pool), true},
      {"process manager", text_field(f, s.process_manager), true},
      {"start time", time_field(f, s.start_unix)},
      {"start since", std::to_string(since(s.now_unix, s.start_unix))},
      {"accepted conn", std::to_string(s.accepted_conn)},
      {"listen queue", std::to_string(s.listen_queue)},
      {"max listen queue", std::to_string(s.max_listen_queue)},
      {"listen queue len", std::to_string(s.listen_queue_len)},
      {"idle processes", std::to_string(s.idle)},
      {"active processes", std::to_string(s.active)},
      {"total processes", std::to_string(s.total)},
      {"max active processes", std::to_string(s.max_active)},
      {"max children reached", std::to_string(s.max_children_reached)},
      {"slow requests", std::to_string(s.slow_requests)},
  };
}

std::vector<Field> process_fields(const StatusSnapshot& s, const StatusSnapshot::Process& p,
                                  Format f) {
  std::string uri = text_field(f, dash(p.request_uri));
  if (!p.query.empty())
    uri += "?" + (f == Format::json ? json_query(p.query) : text_field(f, p.query));
  return {
      {"pid", std::to_string(p.pid)},
      {"state", text_field(f, p.state), true},
      {"start time", time_field(f, p.start_unix)},
      {"start since", std::to_string(since(s.now_unix, p.start_unix))},
      {"requests", std::to_string(p.requests)},
      {"request duration", std::to_string(p.request_duration_us)},
      {"request method", text_field(f, dash(p.request_method)), true},
      {"request uri", std::move(uri), true},
      {"content length", std::to_string(p.content_length)},
      {"user", "-", true},
      {"script", text_field(f, dash(p.script)), true},
      {"last request cpu", "0.00"},  // not measured per request
      {"last request memory", "0"},
  };
}

// "name:" padded so values line up at column 22, as php-fpm aligns them.
void text_line(std::string& out, std::string_view name, const std::string& value) {
  std::size_t start = out.size();
  out += name == "request uri" ? "request URI" : name;
  out += ':';
  while (out.size() - start < 22) out += ' ';
  out += value;
  out += '\n';
}

std::string render_text(const StatusSnapshot& s, bool full) {
  std::string out;
  for (const Field& field : pool_fields(s, Format::text)) text_line(out, field.name, field.value);
  if (!full) return out;
  for (const auto& p : s.processes) {
    out += "\n************************\n";
    for (const Field& field : process_fields(s, p, Format::text))
      text_line(out, field.name, field.value);
  }
  return out;
}

void json_members(std::string& out, const std::vector<Field>& fields) {
  bool first = true;
  for (const Field& field : fields) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += field.name;
    out += "\":";
    out += field.quoted ? '"' + field.value + '"' : field.value;
  }
}

std::string render_json(const StatusSnapshot& s, bool full) {
  std::string out = "{";
  json_members(out, pool_fields(s, Format::json));
  if (!full) return out + "}";
  out += ", \"processes\":[";
  for (std::size_t i = 0; i < s.processes.size(); ++i) {
    out += i == 0 ? "{" : ",{";
    json_members(out, process_fields(s, s.processes[i], Format::json));
    out += '}';
  }
  return out + "]}";
}

void xml_element(std::string& out, const Field& field) {
  std::string tag = field.name;
  for (char& c : tag)
    if (c == ' ') c = '-';
  out += '<' + tag + '>' + field.value + "</" + tag + '>';
}

std::string render_xml(const StatusSnapshot& s, bool full) {
  std::string out = "<?xml version=\"1.0\" ?>\n<status>\n";
  for (const Field& field : pool_fields(s, Format::xml)) {
    xml_element(out, field);
    out += '\n';
  }
  if (!full) return out + "</status>";
  out += "<processes>\n";
  for (const auto& p : s.processes) {
    out += "<process>";
    for (const Field& field : process_fields(s, p, Format::xml)) xml_element(out, field);
    out += "</process>\n";
  }
  return out + "</processes>\n</status>";
}

std::string render_html(const StatusSnapshot& s, bool full) {
  std::string out =
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
      "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n"
      "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
      "<head><title>PHP-FPM Status Page</title></head>\n"
      "<body>\n"
      "<table>\n";
  for (const Field& field : pool_fields(s, Format::html))
    out += std::string("<tr><th>") + field.name + "</th><td>" + field.value + "</td></tr>\n";
  out += "</table>\n";
  if (!full) return out + "</body></html>";
  out += "<table border=\"1\">\n<tr>";
  for (const Field& field : process_fields(s, StatusSnapshot::Process{}, Format::html))
    out += std::string("<th>") + field.name + "</th>";
  out += "</tr>\n";
  for (const auto& p : s.processes) {
    out += "<tr>";
    for (const Field& field : process_fields(s, p, Format::html))
      out += "<td>" + field.value + "</td>";
    out += "</tr>\n";
  }
  return out + "</table></body></html>";
}

struct Metric {
  const char* name;
  const char* type;
  std::string help;
  std::string value;
  bool type_first = false;  // php-fpm writes TYPE before HELP for this one
};

// php-fpm 8.1+ ?openmetrics: pool totals only, even with ?full.
std::string render_openmetrics(const StatusSnapshot& s) {
  const Metric metrics[] = {
      {"phpfpm_up", "gauge",
       "Could pool " + s.pool + " using a " + s.process_manager + " PM on PHP-FPM be reached?",
       "1"},
      {"phpfpm_start_since", "counter", "The number of seconds since FPM has started.",
       std::to_string(since(s.now_unix, s.start_unix))},
      {"phpfpm_accepted_connections", "counter", "The number of requests accepted by the pool.",
       std::to_string(s.accepted_conn)},
      {"phpfpm_listen_queue", "gauge",
       "The number of requests in the queue of pending connections.",
       std::to_string(s.listen_queue)},
      {"phpfpm_max_listen_queue", "counter",
       "The maximum number of requests in the queue of pending connections since FPM has started.",
       std::to_string(s.max_listen_queue)},
      {"phpfpm_listen_queue_length", "gauge",
       "The size of the socket queue of pending connections.", std::to_string(s.listen_queue_len),
       true},
      {"phpfpm_idle_processes", "gauge", "The number of idle processes.", std::to_string(s.idle)},
      {"phpfpm_active_processes", "gauge", "The number of active processes.",
       std::to_string(s.active)},
      {"phpfpm_total_processes", "gauge", "The number of idle + active processes.",
       std::to_string(s.total)},
      {"phpfpm_max_active_processes", "counter",
       "The maximum number of active processes since FPM has started.",
       std::to_string(s.max_active)},
      {"phpfpm_max_children_reached", "counter",
       "The number of times, the process limit has been reached, when pm tries to start more "
       "children (works only for pm 'dynamic' and 'ondemand').",
       std::to_string(s.max_children_reached)},
      {"phpfpm_slow_requests", "counter",
       "The number of requests that exceeded your 'request_slowlog_timeout' value.",
       std::to_string(s.slow_requests)},
  };
  std::string out;
  for (const Metric& m : metrics) {
    std::string help = std::string("# HELP ") + m.name + ' ' + m.help + '\n';
    std::string type = std::string("# TYPE ") + m.name + ' ' + m.type + '\n';
    out += m.type_first ? type + help : help + type;
    out += std::string(m.name) + ' ' + m.value + '\n';
  }
  return out + "# EOF\n";
}

}  // namespace

StatusSnapshot take_snapshot(Scoreboard& board, const std::string& pool, std::string_view pm,
                             int listen_fd) {
  StatusSnapshot s;
  std::int64_t now = now_us();
  PoolCounters& counters = board.pool();
  s.pool = pool;
  s.process_manager = std::string(pm);
  s.start_unix = counters.start_us.load() / kMicros;
  s.now_unix = now / kMicros;
  s.accepted_conn = counters.accepted_conn.load();
  read_listen_queue(listen_fd, s);
  s.listen_queue += static_cast<std::uint64_t>(board.waiting());
  s.max_listen_queue = raise_to(counters.max_listen_queue, s.listen_queue);
  // One read of each child's state serves both the counts and the list,
  // so the two agree.
  for (int i = 0; i < board.capacity(); ++i) {
    int state = board.child(i).state.load();
    if (state == static_cast<int>(ChildState::free)) continue;
    if (state == static_cast<int>(ChildState::idle)) ++s.idle;
    if (state == static_cast<int>(ChildState::active)) ++s.active;
    s.processes.push_back(read_child(board, i, state, now));
  }
  s.total = static_cast<int>(s.processes.size());
  s.max_active = counters.max_active_processes.load();
  s.max_children_reached = counters.max_children_reached.load();
  s.slow_requests = counters.slow_requests.load();
  return s;
}

StatusQuery parse_status_query(std::string_view query_string) {
  // php-fpm asks whether $_GET has the key, whatever its value ("full[]=1" too).
  const text::QueryValue get = text::parse_query_string(query_string);
  const bool html = get.find("html"), xml = get.find("xml"), json = get.find("json"),
             openmetrics = get.find("openmetrics");
  StatusQuery q;
  q.full = get.find("full") != nullptr;
  // php-fpm's precedence when several are given.
  q.format = html          ? Format::html
             : xml         ? Format::xml
             : json        ? Format::json
             : openmetrics ? Format::openmetrics
                           : Format::text;
  return q;
}

std::string render_status(const StatusSnapshot& s, const StatusQuery& q,
                          std::string& content_type) {
  switch (q.format) {
    case Format::json:
      content_type = "application/json";
      return render_json(s, q.full);
    case Format::xml:
      content_type = "text/xml";
      return render_xml(s, q.full);
    case Format::html:
      content_type = "text/html";
      return render_html(s, q.full);
    case Format::openmetrics:
      content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
      return render_openmetrics(s);
    case Format::text:
      break;
  }
  content_type = "text/plain";
  return render_text(s, q.full);
}

}  // namespace cppfpm::pool
