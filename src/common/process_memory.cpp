#include "common/process_memory.h"

#include <cctype>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

namespace ebb {

static std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

uint64_t proc_kb_field(std::string_view text, std::string_view key) {
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') continue;
    uint64_t kb = 0;
    for (char c : line.substr(key.size() + 1)) {
      if (c >= '0' && c <= '9')
        kb = kb * 10 + static_cast<uint64_t>(c - '0');
      else if (kb > 0)
        break;
    }
    return kb * 1024;
  }
  return 0;
}

ProcessMemory read_process_memory(int pid) {
  const std::string dir = pid == 0 ? "/proc/self/" : "/proc/" + std::to_string(pid) + "/";
  const std::string status = slurp(dir + "status");
  ProcessMemory m;
  m.rss = proc_kb_field(status, "VmRSS");
  m.rss_anon = proc_kb_field(status, "RssAnon");
  m.rss_file = proc_kb_field(status, "RssFile");
  m.pss = proc_kb_field(slurp(dir + "smaps_rollup"), "Pss");
  return m;
}

uint64_t own_resident_anon() { return proc_kb_field(slurp("/proc/self/status"), "RssAnon"); }

uint64_t own_file_rss_except(std::string_view except) {
  std::ifstream in("/proc/self/smaps");
  uint64_t total = 0;
  bool counted = false;  // the current mapping is a file other than `except`
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < line.find(' ')) {
      // "start-end perms offset dev inode   path": a file has a non-zero inode and a path
      size_t slash = line.find('/');
      counted = slash != std::string::npos && std::string_view(line).substr(slash) != except;
    } else if (counted && line.rfind("Rss:", 0) == 0) {
      total += proc_kb_field(line, "Rss");
    }
  }
  return total;
}

nlohmann::json to_json(const ProcessMemory& m) {
  return {{"rss", m.rss}, {"pss", m.pss}, {"rss_anon", m.rss_anon}, {"rss_file", m.rss_file}};
}

}  // namespace ebb
