// The status page in php-fpm's formats (sapi/fpm/fpm/fpm_status.c): one
// table of fields, written as text, json, xml, html or openmetrics.
#include <time.h>

#include <cstdio>
#include <utility>

#include "pool/status.h"
#include "pool/status_escape.h"
#include "server/text/html.h"

namespace cppfpm::pool {
namespace {

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

// php-fpm prints the percentage with "%.2f".
std::string cpu_text(double percent) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", percent);
  return buf;
}

std::vector<Field> process_fields(const StatusSnapshot& s, const StatusSnapshot::Process& p,
                                  Format f) {
  std::string uri = text_field(f, dash(p.request_uri));
  if (!p.query.empty()) {
    // Appended in two steps: GCC 12 at -O3 warns (-Wrestrict, a false
    // positive, GCC PR 105329) on "?" + std::string.
    uri += '?';
    uri += f == Format::json ? json_query(p.query) : text_field(f, p.query);
  }
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
      {"last request cpu", cpu_text(p.last_request_cpu)},
      {"last request memory", std::to_string(p.last_request_memory)},
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
