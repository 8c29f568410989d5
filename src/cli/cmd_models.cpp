// `ebb list`, `ebb show MODEL`, `ebb stop MODEL`: Ollama's commands of the same names, printed as
// `ollama` prints them.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/show_print.h"
#include "common/human_format.h"
#include "common/time_format.h"

namespace ebb::cli {
namespace {

using json = nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string short_id(const std::string& digest) { return digest.size() >= 12 ? digest.substr(0, 12) : "-"; }

// --- list ---

void print_list(const json& tags, const std::string& prefix) {
  auto models = tags.value("models", json::array());
  // Most recently modified first, as Ollama lists them.
  std::stable_sort(models.begin(), models.end(), [](const json& a, const json& b) {
    return a.value("modified_at", "") > b.value("modified_at", "");
  });
  const auto now = std::chrono::system_clock::now();
  Rows rows = {{"NAME", "ID", "SIZE", "MODIFIED"}};
  for (const auto& m : models) {
    const std::string name = m.value("name", "");
    if (!prefix.empty() && lower(name).rfind(lower(prefix), 0) != 0) continue;
    rows.push_back({name, short_id(m.value("digest", "")), human_bytes(m.value("size", uint64_t{0})),
                    human_time(parse_rfc3339(m.value("modified_at", "")), now, "Never")});
  }
  std::cout << render_table(rows);
}

// --- show ---

// A model_info value in the Metadata section, as `ollama show -v` prints it.
std::string metadata_value(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return go_number(v.get<double>());
  if (v.is_null()) return "<nil>";
  if (!v.is_array()) return v.dump();
  // As many items as fit in about 10 columns, then "...+N more]".
  const auto item = [](const json& x) { return x.is_string() ? x.get<std::string>() : metadata_value(x); };
  size_t shown = 0, width = 1;
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t w = item(v[i]).size() + (i > 0 ? 2 : 0);
    if (width + w > 10 && i > 0) break;
    width += w;
    ++shown;
  }
  std::string out = "[";
  for (size_t i = 0; i < shown; ++i) out += (i ? " " : "") + item(v[i]);
  if (shown < v.size()) return out + " ...+" + std::to_string(v.size() - shown) + " more]";
  return out + "]";
}

// The first `n` non-blank lines of `text`, "..." after them when there are more.
Rows head(const std::string& text, size_t n) {
  Rows rows;
  std::istringstream in(text);
  std::string line;
  size_t count = 0;
  while (std::getline(in, line)) {
    const size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos) continue;
    const size_t b = line.find_last_not_of(" \t\r");
    if (++count <= n) rows.push_back({"", line.substr(a, b - a + 1)});
  }
  if (count > n) rows.push_back({"", "..."});
  return rows;
}

void section(std::ostream& out, const std::string& header, const Rows& rows) {
  out << "  " << header << "\n" << render_table(rows) << "\n";
}

}  // namespace

void print_show(const json& r, bool verbose, std::ostream& out) {
  const json info = r.value("model_info", json::object());
  const json details = r.value("details", json::object());
  const std::string arch = info.value("general.architecture", "");
  Rows model;
  if (!arch.empty()) model.push_back({"", "architecture", arch});
  if (const std::string p = details.value("parameter_size", ""); !p.empty())
    model.push_back({"", "parameters", p});
  else if (info.contains("general.parameter_count") && info["general.parameter_count"].is_number())
    model.push_back({"", "parameters", human_number(info["general.parameter_count"].get<uint64_t>())});
  for (const auto& [key, label] :
       {std::pair{"context_length", "context length"}, std::pair{"embedding_length", "embedding length"}}) {
    const std::string k = arch + "." + key;
    if (info.contains(k) && info[k].is_number()) model.push_back({"", label, go_number(info[k].get<double>())});
  }
  model.push_back({"", "quantization", details.value("quantization_level", "")});
  section(out, "Model", model);

  if (const auto caps = r.value("capabilities", json::array()); !caps.empty()) {
    Rows rows;
    for (const auto& c : caps) rows.push_back({"", c.get<std::string>()});
    section(out, "Capabilities", rows);
  }
  if (const std::string params = r.value("parameters", ""); !params.empty()) {
    Rows rows;
    std::istringstream in(params);
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::vector<std::string> row = {""};
      for (std::string w; words >> w;) row.push_back(w);
      if (row.size() > 1) rows.push_back(row);
    }
    section(out, "Parameters", rows);
  }
  if (verbose) {
    Rows rows;
    for (const auto& [key, value] : info.items()) rows.push_back({"", key, metadata_value(value)});  // sorted keys
    section(out, "Metadata", rows);
    if (const auto tensors = r.value("tensors", json::array()); !tensors.empty()) {
      Rows t;
      for (const auto& x : tensors) {
        std::string shape = "[";
        for (const auto& d : x.value("shape", json::array())) shape += (shape.size() > 1 ? " " : "") + d.dump();
        t.push_back({"", x.value("name", ""), x.value("type", ""), shape + "]"});
      }
      section(out, "Tensors", t);
    }
  }
  if (const std::string s = r.value("system", ""); !s.empty()) section(out, "System", head(s, 2));
  if (const std::string l = r.value("license", ""); !l.empty()) section(out, "License", head(l, 2));
}

namespace {

struct ShowArgs {
  std::string host, model;
  bool license = false, modelfile = false, parameters = false, system = false, tmpl = false, verbose = false;
};

void show(const ShowArgs& a) {
  const int picked = a.license + a.modelfile + a.parameters + a.system + a.tmpl;
  if (picked > 1)
    throw std::invalid_argument(
        "only one of '--license', '--modelfile', '--parameters', '--system', or '--template' can be specified");
  const json r = post_json(server_address(a.host), "/api/show", {{"model", a.model}, {"verbose", a.verbose}});
  if (a.license) std::cout << r.value("license", "") << "\n";
  if (a.modelfile) std::cout << r.value("modelfile", "") << "\n";
  if (a.parameters) std::cout << r.value("parameters", "") << "\n";
  if (a.system) std::cout << r.value("system", "");
  if (a.tmpl) std::cout << r.value("template", "");
  if (picked == 0) print_show(r, a.verbose, std::cout);
}

// --- stop ---

// As `ollama stop` does: an empty /api/generate with keep_alive 0 unloads the model.
void stop(const std::string& host, const std::string& model) {
  try {
    post_json(server_address(host), "/api/generate", {{"model", model}, {"keep_alive", 0}, {"stream", false}});
  } catch (const HttpError& e) {
    if (e.status() == 404) throw std::runtime_error("couldn't find model \"" + model + "\" to stop");
    throw;
  }
}

}  // namespace

void add_model_commands(CLI::App& root) {
  {
    struct Args {
      std::string host, prefix;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = root.add_subcommand("list", "list the models the server serves (NAME ID SIZE MODIFIED, as ollama)");
    cmd->alias("ls");
    cmd->add_option("prefix", a->prefix, "only models whose name starts with this");
    add_host_option(cmd, a->host);
    cmd->callback([a] { run_client([&] { print_list(get_json(server_address(a->host), "/api/tags"), a->prefix); }); });
  }
  {
    auto a = std::make_shared<ShowArgs>();
    auto* cmd = root.add_subcommand("show", "show a model's details, capabilities and metadata (as ollama show)");
    cmd->add_option("model", a->model, "model name")->required();
    cmd->add_flag("--license", a->license, "show the license (GGUF general.license)");
    cmd->add_flag("--modelfile", a->modelfile, "show a Modelfile for the model");
    cmd->add_flag("--parameters", a->parameters, "show the parameters its config sets");
    cmd->add_flag("--system", a->system, "show the system message");
    cmd->add_flag("--template", a->tmpl, "show the chat template");
    cmd->add_flag("-v,--verbose", a->verbose, "show all metadata and tensors");
    add_host_option(cmd, a->host);
    cmd->callback([a] { run_client([&] { show(*a); }); });
  }
  {
    struct Args {
      std::string host, model;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = root.add_subcommand("stop", "unload a model from the device (as ollama stop)");
    cmd->add_option("model", a->model, "model name")->required();
    add_host_option(cmd, a->host);
    cmd->callback([a] { run_client([&] { stop(a->host, a->model); }); });
  }
}

}  // namespace ebb::cli
