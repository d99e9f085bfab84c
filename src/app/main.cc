// The `trial` executable: wires the command line and the server to the modules.
#include <iostream>
#include <string>
#include <vector>

#include "app/serve.h"
#include "app/wiring.h"
#include "cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto env = trial::app::ProductionEnvironment();
  if (int code = trial::app::RunServerCommand(args, std::cout, std::cerr, env); code >= 0) {
    return code;
  }
  return trial::cli::Run(args, std::cout, std::cerr, env);
}
