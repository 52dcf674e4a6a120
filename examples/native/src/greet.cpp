#include <cstdio>
#include <string>

extern "C" void greet(const char *text) {
  std::string line(text);
  std::printf("%s\n", line.c_str());
}
