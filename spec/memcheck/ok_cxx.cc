// No bug: strings, vectors, maps and exceptions.
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
int main()
{
  std::map<std::string, std::vector<int>> m;
  for (int i = 0; i < 500; i++) m["key" + std::to_string(i % 37)].push_back(i);
  std::string all;
  for (auto &kv : m) all += kv.first + ":" + std::to_string(kv.second.size()) + ",";
  auto u = std::make_unique<long[]>(100);
  u[99] = 5;
  int caught = 0;
  try { throw std::runtime_error("boom " + all.substr(0, 10)); } catch (const std::exception &e) { caught = e.what()[0] == 'b'; }
  std::printf("%zu %ld %d\n", all.size(), u[99], caught);
  return 0;
}
