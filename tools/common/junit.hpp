// A JUnit XML file (the format GitLab and Jenkins read): one testsuite of test cases.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace tools {

struct JunitCase {
  std::string name;
  bool ok = false;
  std::string reason;  // why it failed
  double seconds = 0;
  std::string output;  // system-out (the console)
};

inline std::string xml_escape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else if (c == '"')
      o += "&quot;";
    else if (c < 0x20 && c != '\n' && c != '\t')
      o += "?";  // not allowed in XML 1.0
    else
      o += static_cast<char>(c);
  }
  return o;
}

inline bool write_junit(const std::string& path, const std::string& suite, const std::vector<JunitCase>& cases) {
  std::ofstream f(path);
  size_t failures = 0;
  for (const auto& c : cases) failures += !c.ok;
  f << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"" << xml_escape(suite) << "\" tests=\"" << cases.size()
    << "\" failures=\"" << failures << "\">\n";
  for (const auto& c : cases) {
    f << "  <testcase classname=\"" << xml_escape(suite) << "\" name=\"" << xml_escape(c.name) << "\" time=\"" << c.seconds << "\">";
    if (!c.ok) f << "<failure message=\"" << xml_escape(c.reason) << "\"/>";
    f << "<system-out>" << xml_escape(c.output) << "</system-out></testcase>\n";
  }
  f << "</testsuite>\n";
  return static_cast<bool>(f);
}

}  // namespace tools
