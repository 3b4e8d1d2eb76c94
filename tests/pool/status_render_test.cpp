// The status page as php-fpm 8.2 renders it: query parsing and the text,
// json, xml, html and openmetrics pages, byte for byte.
#include <catch2/catch.hpp>

#include <time.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "pool/scoreboard.h"
#include "pool/status.h"

using namespace cppfpm::pool;
using Format = StatusQuery::Format;

namespace {

constexpr std::int64_t kStart = 1795618800;  // 25/Nov/2026:15:00:00 +0000

// php-fpm prints start times in local time; the expected pages assume a zone.
class TimeZone {
 public:
  explicit TimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) saved_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~TimeZone() {
    if (saved_)
      ::setenv("TZ", saved_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }

 private:
  std::optional<std::string> saved_;
};

StatusSnapshot sample() {
  StatusSnapshot s;
  s.pool = "www";
  s.process_manager = "dynamic";
  s.start_unix = kStart;
  s.now_unix = kStart + 3600;
  s.accepted_conn = 42;
  s.listen_queue = 1;
  s.max_listen_queue = 3;
  s.listen_queue_len = 511;
  s.idle = 1;
  s.active = 1;
  s.total = 2;
  s.max_active = 2;
  s.max_children_reached = 4;
  s.slow_requests = 5;
  StatusSnapshot::Process running;
  running.pid = 1201;
  running.state = "Running";
  running.start_unix = kStart + 10;
  running.requests = 7;
  running.request_duration_us = 1500;
  running.request_method = "GET";
  running.request_uri = "/index.php";
  running.script = "/index.php";
  running.query = "a=1&b=/x";
  StatusSnapshot::Process idle;
  idle.pid = 1202;
  idle.state = "Idle";
  idle.start_unix = kStart + 20;
  idle.requests = 3;
  idle.request_duration_us = 250;
  s.processes = {running, idle};
  return s;
}

std::string rendered(const StatusSnapshot& s, Format format, bool full,
                     std::string* content_type = nullptr) {
  std::string type;
  std::string body = render_status(s, StatusQuery{format, full}, type);
  if (content_type) *content_type = type;
  return body;
}

const char* const kTextHead =
    "pool:                 www\n"
    "process manager:      dynamic\n"
    "start time:           25/Nov/2026:15:00:00 +0000\n"
    "start since:          3600\n"
    "accepted conn:        42\n"
    "listen queue:         1\n"
    "max listen queue:     3\n"
    "listen queue len:     511\n"
    "idle processes:       1\n"
    "active processes:     1\n"
    "total processes:      2\n"
    "max active processes: 2\n"
    "max children reached: 4\n"
    "slow requests:        5\n";

const char* const kJsonHead =
    "{\"pool\":\"www\",\"process manager\":\"dynamic\",\"start time\":1795618800,"
    "\"start since\":3600,\"accepted conn\":42,\"listen queue\":1,\"max listen queue\":3,"
    "\"listen queue len\":511,\"idle processes\":1,\"active processes\":1,"
    "\"total processes\":2,\"max active processes\":2,\"max children reached\":4,"
    "\"slow requests\":5";

}  // namespace

TEST_CASE("status: query parsing follows php-fpm's $_GET keys") {
  auto parsed = [](std::string_view qs) { return parse_status_query(qs); };
  CHECK(parsed("").format == Format::text);
  CHECK_FALSE(parsed("").full);
  CHECK(parsed("json").format == Format::json);
  CHECK(parsed("xml").format == Format::xml);
  CHECK(parsed("html").format == Format::html);
  CHECK(parsed("openmetrics").format == Format::openmetrics);
  CHECK(parsed("full").format == Format::text);
  CHECK(parsed("full").full);

  StatusQuery q = parsed("full&json");
  CHECK(q.format == Format::json);
  CHECK(q.full);
  q = parsed("html&full");
  CHECK(q.format == Format::html);
  CHECK(q.full);
  q = parsed("json=1&full=yes");
  CHECK(q.format == Format::json);
  CHECK(q.full);
  CHECK(parsed("full[]=1&%6Aso%6E").full);
  CHECK(parsed("full[]=1&%6Aso%6E").format == Format::json);

  // php-fpm tries html, then xml, then json, then openmetrics.
  CHECK(parsed("json&html").format == Format::html);
  CHECK(parsed("openmetrics&xml").format == Format::xml);
  CHECK(parsed("openmetrics&json").format == Format::json);

  // Values and near misses do not count.
  CHECK(parsed("format=json").format == Format::text);
  CHECK(parsed("jsonx&fully").format == Format::text);
  CHECK_FALSE(parsed("jsonx&fully").full);
  CHECK(parsed("&&=json&").format == Format::text);
}

TEST_CASE("status: text page") {
  TimeZone utc("UTC");
  std::string type;
  CHECK(rendered(sample(), Format::text, false, &type) == kTextHead);
  CHECK(type == "text/plain");

  std::string full = std::string(kTextHead) +
                     "\n"
                     "************************\n"
                     "pid:                  1201\n"
                     "state:                Running\n"
                     "start time:           25/Nov/2026:15:00:10 +0000\n"
                     "start since:          3590\n"
                     "requests:             7\n"
                     "request duration:     1500\n"
                     "request method:       GET\n"
                     "request URI:          /index.php?a=1&b=/x\n"
                     "content length:       0\n"
                     "user:                 -\n"
                     "script:               /index.php\n"
                     "last request cpu:     0.00\n"
                     "last request memory:  0\n"
                     "\n"
                     "************************\n"
                     "pid:                  1202\n"
                     "state:                Idle\n"
                     "start time:           25/Nov/2026:15:00:20 +0000\n"
                     "start since:          3580\n"
                     "requests:             3\n"
                     "request duration:     250\n"
                     "request method:       -\n"
                     "request URI:          -\n"
                     "content length:       0\n"
                     "user:                 -\n"
                     "script:               -\n"
                     "last request cpu:     0.00\n"
                     "last request memory:  0\n";
  CHECK(rendered(sample(), Format::text, true) == full);
}

TEST_CASE("status: text page start time follows the local zone") {
  StatusSnapshot s = sample();
  {
    TimeZone india("IST-5:30");
    CHECK(rendered(s, Format::text, false)
              .find("start time:           25/Nov/2026:20:30:00 +0530\n") != std::string::npos);
  }
  {
    TimeZone eastern("EST5");
    CHECK(rendered(s, Format::text, false)
              .find("start time:           25/Nov/2026:10:00:00 -0500\n") != std::string::npos);
  }
}

TEST_CASE("status: json page") {
  std::string type;
  CHECK(rendered(sample(), Format::json, false, &type) == std::string(kJsonHead) + "}");
  CHECK(type == "application/json");

  std::string full =
      std::string(kJsonHead) +
      ", \"processes\":["
      "{\"pid\":1201,\"state\":\"Running\",\"start time\":1795618810,\"start since\":3590,"
      "\"requests\":7,\"request duration\":1500,\"request method\":\"GET\","
      "\"request uri\":\"\\/index.php?a=1&b=\\/x\",\"content length\":0,\"user\":\"-\","
      "\"script\":\"\\/index.php\",\"last request cpu\":0.00,\"last request memory\":0},"
      "{\"pid\":1202,\"state\":\"Idle\",\"start time\":1795618820,\"start since\":3580,"
      "\"requests\":3,\"request duration\":250,\"request method\":\"-\","
      "\"request uri\":\"-\",\"content length\":0,\"user\":\"-\","
      "\"script\":\"-\",\"last request cpu\":0.00,\"last request memory\":0}"
      "]}";
  CHECK(rendered(sample(), Format::json, true) == full);

  StatusSnapshot none = sample();
  none.processes.clear();
  CHECK(rendered(none, Format::json, true) == std::string(kJsonHead) + ", \"processes\":[]}");
}

TEST_CASE("status: json page escapes text") {
  StatusSnapshot s = sample();
  s.processes.resize(1);
  s.processes[0].script = "/a\"b\\c.php";
  // The query as PHP's json_encode writes it: \/ and \uXXXX, bad UTF-8 dropped.
  s.processes[0].query = "q=\xC3\xA9\xF0\x9F\x98\x80\xFF\t\"";
  std::string body = rendered(s, Format::json, true);
  CHECK(body.find("\"script\":\"\\/a\\\"b\\\\c.php\"") != std::string::npos);
  CHECK(body.find("\"request uri\":\"\\/index.php?q=\\u00e9\\ud83d\\ude00\\t\\\"\"") !=
        std::string::npos);
}

TEST_CASE("status: xml page") {
  std::string head =
      "<?xml version=\"1.0\" ?>\n"
      "<status>\n"
      "<pool>www</pool>\n"
      "<process-manager>dynamic</process-manager>\n"
      "<start-time>1795618800</start-time>\n"
      "<start-since>3600</start-since>\n"
      "<accepted-conn>42</accepted-conn>\n"
      "<listen-queue>1</listen-queue>\n"
      "<max-listen-queue>3</max-listen-queue>\n"
      "<listen-queue-len>511</listen-queue-len>\n"
      "<idle-processes>1</idle-processes>\n"
      "<active-processes>1</active-processes>\n"
      "<total-processes>2</total-processes>\n"
      "<max-active-processes>2</max-active-processes>\n"
      "<max-children-reached>4</max-children-reached>\n"
      "<slow-requests>5</slow-requests>\n";
  std::string type;
  CHECK(rendered(sample(), Format::xml, false, &type) == head + "</status>");
  CHECK(type == "text/xml");

  std::string full =
      head +
      "<processes>\n"
      "<process><pid>1201</pid><state>Running</state><start-time>1795618810</start-time>"
      "<start-since>3590</start-since><requests>7</requests>"
      "<request-duration>1500</request-duration><request-method>GET</request-method>"
      "<request-uri>/index.php?a=1&amp;b=/x</request-uri><content-length>0</content-length>"
      "<user>-</user><script>/index.php</script><last-request-cpu>0.00</last-request-cpu>"
      "<last-request-memory>0</last-request-memory></process>\n"
      "<process><pid>1202</pid><state>Idle</state><start-time>1795618820</start-time>"
      "<start-since>3580</start-since><requests>3</requests>"
      "<request-duration>250</request-duration><request-method>-</request-method>"
      "<request-uri>-</request-uri><content-length>0</content-length>"
      "<user>-</user><script>-</script><last-request-cpu>0.00</last-request-cpu>"
      "<last-request-memory>0</last-request-memory></process>\n"
      "</processes>\n"
      "</status>";
  CHECK(rendered(sample(), Format::xml, true) == full);
}

TEST_CASE("status: html page") {
  TimeZone utc("UTC");
  std::string head =
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
      "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n"
      "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
      "<head><title>PHP-FPM Status Page</title></head>\n"
      "<body>\n"
      "<table>\n"
      "<tr><th>pool</th><td>www</td></tr>\n"
      "<tr><th>process manager</th><td>dynamic</td></tr>\n"
      "<tr><th>start time</th><td>25/Nov/2026:15:00:00 +0000</td></tr>\n"
      "<tr><th>start since</th><td>3600</td></tr>\n"
      "<tr><th>accepted conn</th><td>42</td></tr>\n"
      "<tr><th>listen queue</th><td>1</td></tr>\n"
      "<tr><th>max listen queue</th><td>3</td></tr>\n"
      "<tr><th>listen queue len</th><td>511</td></tr>\n"
      "<tr><th>idle processes</th><td>1</td></tr>\n"
      "<tr><th>active processes</th><td>1</td></tr>\n"
      "<tr><th>total processes</th><td>2</td></tr>\n"
      "<tr><th>max active processes</th><td>2</td></tr>\n"
      "<tr><th>max children reached</th><td>4</td></tr>\n"
      "<tr><th>slow requests</th><td>5</td></tr>\n"
      "</table>\n";
  std::string type;
  CHECK(rendered(sample(), Format::html, false, &type) == head + "</body></html>");
  CHECK(type == "text/html");

  StatusSnapshot s = sample();
  s.processes.resize(1);
  s.processes[0].query = "x=<b>";
  std::string full =
      head +
      "<table border=\"1\">\n"
      "<tr><th>pid</th><th>state</th><th>start time</th><th>start since</th><th>requests</th>"
      "<th>request duration</th><th>request method</th><th>request uri</th>"
      "<th>content length</th><th>user</th><th>script</th><th>last request cpu</th>"
      "<th>last request memory</th></tr>\n"
      "<tr><td>1201</td><td>Running</td><td>25/Nov/2026:15:00:10 +0000</td><td>3590</td>"
      "<td>7</td><td>1500</td><td>GET</td><td>/index.php?x=&lt;b&gt;</td><td>0</td><td>-</td>"
      "<td>/index.php</td><td>0.00</td><td>0</td></tr>\n"
      "</table></body></html>";
  CHECK(rendered(s, Format::html, true) == full);
}

TEST_CASE("status: openmetrics page") {
  std::string expected =
      "# HELP phpfpm_up Could pool www using a dynamic PM on PHP-FPM be reached?\n"
      "# TYPE phpfpm_up gauge\n"
      "phpfpm_up 1\n"
      "# HELP phpfpm_start_since The number of seconds since FPM has started.\n"
      "# TYPE phpfpm_start_since counter\n"
      "phpfpm_start_since 3600\n"
      "# HELP phpfpm_accepted_connections The number of requests accepted by the pool.\n"
      "# TYPE phpfpm_accepted_connections counter\n"
      "phpfpm_accepted_connections 42\n"
      "# HELP phpfpm_listen_queue The number of requests in the queue of pending connections.\n"
      "# TYPE phpfpm_listen_queue gauge\n"
      "phpfpm_listen_queue 1\n"
      "# HELP phpfpm_max_listen_queue The maximum number of requests in the queue of pending "
      "connections since FPM has started.\n"
      "# TYPE phpfpm_max_listen_queue counter\n"
      "phpfpm_max_listen_queue 3\n"
      "# TYPE phpfpm_listen_queue_length gauge\n"
      "# HELP phpfpm_listen_queue_length The size of the socket queue of pending connections.\n"
      "phpfpm_listen_queue_length 511\n"
      "# HELP phpfpm_idle_processes The number of idle processes.\n"
      "# TYPE phpfpm_idle_processes gauge\n"
      "phpfpm_idle_processes 1\n"
      "# HELP phpfpm_active_processes The number of active processes.\n"
      "# TYPE phpfpm_active_processes gauge\n"
      "phpfpm_active_processes 1\n"
      "# HELP phpfpm_total_processes The number of idle + active processes.\n"
      "# TYPE phpfpm_total_processes gauge\n"
      "phpfpm_total_processes 2\n"
      "# HELP phpfpm_max_active_processes The maximum number of active processes since FPM has "
      "started.\n"
      "# TYPE phpfpm_max_active_processes counter\n"
      "phpfpm_max_active_processes 2\n"
      "# HELP phpfpm_max_children_reached The number of times, the process limit has been "
      "reached, when pm tries to start more children (works only for pm 'dynamic' and "
      "'ondemand').\n"
      "# TYPE phpfpm_max_children_reached counter\n"
      "phpfpm_max_children_reached 4\n"
      "# HELP phpfpm_slow_requests The number of requests that exceeded your "
      "'request_slowlog_timeout' value.\n"
      "# TYPE phpfpm_slow_requests counter\n"
      "phpfpm_slow_requests 5\n"
      "# EOF\n";
  std::string type;
  CHECK(rendered(sample(), Format::openmetrics, false, &type) == expected);
  CHECK(type == "application/openmetrics-text; version=1.0.0; charset=utf-8");
  // php-fpm adds nothing per process to this format.
  CHECK(rendered(sample(), Format::openmetrics, true) == expected);
}
