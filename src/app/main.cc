// The `trial` executable: wires the command line to the modules.
#include <iostream>
#include <string>
#include <vector>

#include "app/wiring.h"
#include "cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return trial::cli::Run(args, std::cout, std::cerr, trial::app::ProductionEnvironment());
}
