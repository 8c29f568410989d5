// `ebb run MODEL` on a terminal: the interactive chat, as ollama's. Lines are edited by
// LineEditor in raw mode; messages and commands come out of InputAssembler; the conversation
// goes to /api/chat with its whole history each turn.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>

#include "cli/http_client.h"
#include "cli/interactive/input_assembler.h"
#include "cli/interactive/line_editor.h"
#include "cli/interactive/text_width.h"
#include "cli/run.h"
#include "cli/show_print.h"
#include "cli/terminal.h"
#include "common/scope_exit.h"

namespace ebb::cli {

using json = nlohmann::json;

namespace {

constexpr const char* kPrompt = ">>> ";
constexpr const char* kAltPrompt = "... ";
constexpr const char* kPlaceholder = "Send a message (/? for help)";

// ~/.ebb/history, as ollama keeps ~/.ollama/history; none with EBB_NOHISTORY or OLLAMA_NOHISTORY.
std::string history_path() {
  for (const char* env : {"EBB_NOHISTORY", "OLLAMA_NOHISTORY"})
    if (const char* v = std::getenv(env); v && *v && std::string(v) != "0" && std::string(v) != "false") return "";
  const char* home = std::getenv("HOME");
  if (!home || !*home) return "";
  return std::string(home) + "/.ebb/history";
}

class Chat {
 public:
  explicit Chat(RunOptions o) : o_(std::move(o)), editor_(&history_) {}
  int run();

 private:
  enum class Read { kLine, kInterrupt, kEof };
  Read read_line(std::string& line, bool& pasting);
  void redraw(const char* prompt, const char* placeholder);
  // Handles a command line; false: the chat ends.
  bool command(const std::string& line);
  void show(const std::vector<std::string>& words);
  void load(const std::string& model);
  void set_system(const std::string& text);
  void send(const std::string& text);
  void warn_if_cannot_think();

  RunOptions o_;
  History history_;
  std::string history_file_ = history_path();
  LineEditor editor_;
  LineRenderer renderer_;
  InputAssembler input_;
  json messages_ = json::array();
  std::string pending_;  // bytes read past the last line
};

void Chat::redraw(const char* prompt, const char* placeholder) {
  write_all(STDOUT_FILENO, renderer_.refresh(prompt, editor_.buffer(), editor_.cursor(), placeholder,
                                             terminal_columns(STDOUT_FILENO)));
}

Chat::Read Chat::read_line(std::string& line, bool& pasting) {
  RawMode raw(STDIN_FILENO);
  const bool alt = input_.continuing() || editor_.pasting();
  const char* prompt = alt ? kAltPrompt : kPrompt;
  const char* placeholder = alt ? "" : kPlaceholder;
  renderer_.reset();
  redraw(prompt, placeholder);
  const auto finish = [&] {
    write_all(STDOUT_FILENO, renderer_.finish(prompt, editor_.buffer(), terminal_columns(STDOUT_FILENO)));
  };
  while (true) {
    if (pending_.empty()) {
      char buf[4096];
      const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        finish();
        return Read::kEof;
      }
      pending_.assign(buf, static_cast<size_t>(n));
    }
    size_t used = 0;
    LineEditor::Event ev = LineEditor::Event::kNone;
    while (used < pending_.size() && ev == LineEditor::Event::kNone) ev = editor_.feed(pending_[used++]);
    pending_.erase(0, used);
    switch (ev) {
      case LineEditor::Event::kNone:
        if (!editor_.mid_sequence()) redraw(prompt, placeholder);
        break;
      case LineEditor::Event::kSubmit:
        pasting = editor_.pasting();
        finish();
        line = editor_.take_line();
        if (o_.settings.history && !history_file_.empty() && !pasting) history_.save(history_file_);
        return Read::kLine;
      case LineEditor::Event::kInterrupt:
        finish();
        editor_.clear();
        return Read::kInterrupt;
      case LineEditor::Event::kEof: finish(); return Read::kEof;
      case LineEditor::Event::kClearScreen:
        write_all(STDOUT_FILENO, "\x1b[H\x1b[2J");
        renderer_.reset();
        redraw(prompt, placeholder);
        break;
    }
  }
}

int Chat::run() {
  if (!history_file_.empty()) history_.load(history_file_);
  write_all(STDOUT_FILENO, "\x1b[?2004h");  // bracketed paste: a pasted text is one message
  ScopeExit paste_off([] { write_all(STDOUT_FILENO, "\x1b[?2004l"); });
  while (true) {
    std::string line;
    bool pasting = false;
    switch (read_line(line, pasting)) {
      case Read::kEof: return 0;
      case Read::kInterrupt:
        input_.reset();
        std::cout << "Use Ctrl + d or /bye to exit." << std::endl;
        continue;
      case Read::kLine: break;
    }
    const InputAssembler::Step step = input_.feed(line, pasting);
    switch (step.kind) {
      case InputAssembler::Step::Kind::kNone:
      case InputAssembler::Step::Kind::kMore: break;
      case InputAssembler::Step::Kind::kSystem: set_system(step.text); break;
      case InputAssembler::Step::Kind::kCommand:
        if (!command(step.text)) return 0;
        break;
      case InputAssembler::Step::Kind::kMessage: send(step.text); break;
    }
  }
}

void Chat::set_system(const std::string& text) {
  o_.settings.system = text;
  const json m = {{"role", "system"}, {"content", text}};
  if (!messages_.empty() && messages_.back().value("role", "") == "system")
    messages_.back() = m;
  else
    messages_.push_back(m);
  std::cout << "Set system message." << std::endl;
}

void Chat::send(const std::string& text) {
  messages_.push_back({{"role", "user"}, {"content", text}});
  json body = request_base(o_);
  body["messages"] = messages_;
  Answer a;
  try {
    a = stream_answer(o_, "/api/chat", body, true);
  } catch (const HttpError& e) {
    messages_.erase(messages_.size() - 1);  // the server refused it: the conversation goes on without it
    std::cout << "Error: " << e.what() << "\n" << std::endl;
    return;
  } catch (const ConnectionError&) {
    throw;
  } catch (const std::runtime_error& e) {  // an error line in the stream
    messages_.erase(messages_.size() - 1);
    std::cout << "Error: " << e.what() << "\n" << std::endl;
    return;
  }
  end_answer(o_, a);
  if (a.cancelled) return;  // as ollama: the question stays in the history, without an answer
  json m = {{"role", "assistant"}, {"content", a.content}};
  if (!a.thinking.empty()) m["thinking"] = a.thinking;
  messages_.push_back(std::move(m));
}

void Chat::warn_if_cannot_think() {
  try {
    const json s = show_model(o_, o_.model);
    const json caps = s.value("capabilities", json::array());
    for (const auto& c : caps)
      if (c == "thinking") return;
    std::cerr << "warning: model \"" << o_.model << "\" does not support thinking output" << std::endl;
  } catch (const std::exception&) {
  }
}

bool Chat::command(const std::string& line) {
  const std::vector<std::string> words = split_words(line);
  const std::string& cmd = words[0];
  if (cmd == "/bye" || cmd == "/exit") return false;
  if (cmd == "/clear") {
    messages_ = json::array();
    if (!o_.settings.system.empty()) messages_.push_back({{"role", "system"}, {"content", o_.settings.system}});
    std::cout << "Cleared session context" << std::endl;
  } else if (cmd == "/set") {
    const SetResult r = apply_set(o_.settings, words);
    std::cout << r.out << std::flush;
    std::cerr << r.err << std::flush;
    if (r.think_changed) {
      o_.think_set = true;
      warn_if_cannot_think();
    }
    if (r.system) {
      const InputAssembler::Step step = input_.begin_system(r.system_text);
      if (step.kind == InputAssembler::Step::Kind::kSystem) set_system(step.text);
    }
  } else if (cmd == "/show") {
    show(words);
  } else if (cmd == "/load") {
    if (words.size() != 2)
      std::cout << "Usage:\n  /load <modelname>" << std::endl;
    else
      load(words[1]);
  } else if (cmd == "/?" || cmd == "/help") {
    const std::string topic = words.size() > 1 ? words[1] : "";
    if (topic == "set" || topic == "/set")
      std::cerr << usage_set_text();
    else if (topic == "show" || topic == "/show")
      std::cerr << usage_show_text();
    else if (topic == "shortcut" || topic == "shortcuts")
      std::cerr << usage_shortcuts_text();
    else if (topic.empty())
      std::cerr << usage_text();
    std::cerr << std::flush;
  } else {
    std::cout << "Unknown command '" << cmd << "'. Type /? for help" << std::endl;
  }
  return true;
}

void Chat::show(const std::vector<std::string>& words) {
  if (words.size() < 2) {
    std::cerr << usage_show_text() << std::flush;
    return;
  }
  json body = {{"model", o_.model}};
  if (!o_.settings.system.empty()) body["system"] = o_.settings.system;
  json r;
  try {
    r = post_json(o_.address, "/api/show", body);
  } catch (const HttpError&) {
    std::cout << "error: couldn't get model" << std::endl;
    throw;
  }
  const std::string& what = words[1];
  if (what == "info") {
    print_show(r, false, std::cerr);
    std::cerr << std::flush;
  } else if (what == "license") {
    const std::string l = r.value("license", "");
    std::cout << (l.empty() ? "No license was specified for this model." : l) << std::endl;
  } else if (what == "modelfile") {
    std::cout << r.value("modelfile", "") << std::endl;
  } else if (what == "parameters") {
    std::cout << "Model defined parameters:\n";
    const std::string p = r.value("parameters", "");
    if (p.empty()) {
      std::cout << "  No additional parameters were specified for this model.\n";
    } else {
      size_t start = 0;
      while (start <= p.size()) {
        const size_t nl = std::min(p.find('\n', start), p.size());
        std::cout << "  " << p.substr(start, nl - start) << "\n";
        start = nl + 1;
      }
    }
    std::cout << "\n";
    if (!o_.settings.options.empty()) {
      std::cout << "User defined parameters:\n";
      for (const auto& [k, v] : o_.settings.options.items()) {
        std::string name = k;
        name.resize(std::max<size_t>(name.size(), 30), ' ');
        std::cout << "  " << name << " " << parameter_text(v) << "\n";
      }
      std::cout << "\n";
    }
    std::cout << std::flush;
  } else if (what == "system") {
    const std::string s = !o_.settings.system.empty() ? o_.settings.system : r.value("system", "");
    if (s.empty())
      std::cout << "No system message was specified for this model." << std::endl;
    else
      std::cout << s << "\n" << std::endl;
  } else if (what == "template") {
    const std::string t = r.value("template", "");
    std::cout << (t.empty() ? "No prompt template was specified for this model." : t) << std::endl;
  } else {
    std::cout << "Unknown command '/show " << what << "'. Type /? for help" << std::endl;
  }
}

void Chat::load(const std::string& model) {
  std::cout << "Loading model '" << model << "'" << std::endl;
  json s;
  try {
    s = show_model(o_, model);
  } catch (const HttpError&) {
    throw;
  } catch (const ConnectionError&) {
    throw;
  } catch (const std::runtime_error&) {  // show_model's "not found"
    std::cout << "Couldn't find model '" << model << "'" << std::endl;
    return;
  }
  RunOptions next = o_;
  next.model = model;
  infer_think(next, s);
  load_model(next);
  o_ = std::move(next);
  messages_ = json::array();
  if (!o_.settings.system.empty()) messages_.push_back({{"role", "system"}, {"content", o_.settings.system}});
}

}  // namespace

int run_interactive(RunOptions o) { return Chat(std::move(o)).run(); }

}  // namespace ebb::cli
