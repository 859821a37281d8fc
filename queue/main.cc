// refqueue: see `refqueue --help` and docs/refqueue.md.
#include "cli.h"

int main(int argc, char** argv) { return refqueue::RunCli(argc, argv); }
