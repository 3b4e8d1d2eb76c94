#pragma once
// Process titles as php-fpm sets them, so ps, pgrep -f, monit and init
// scripts tell the processes apart: "cppfpm: master process (CONFIG)" and
// "cppfpm: pool NAME". Linux shows /proc/PID/cmdline from the memory that
// held argv and, right after it, the environment; the title is written
// there, once both have been copied elsewhere (what nginx's
// ngx_init_setproctitle does; written anew here).
#include <string>

namespace cppfpm::server {

// At the top of main(): copies the argument strings (argv[i] then point to
// the copies, so a later re-exec still has them) and the environment
// (environ is replaced by a copy), and keeps the original area for titles.
void init_proc_title(int argc, char** argv);

// Writes `title` over the original area, cut to its size; the rest is
// zeroed. Does nothing before init_proc_title().
void set_proc_title(const std::string& title);

}  // namespace cppfpm::server
