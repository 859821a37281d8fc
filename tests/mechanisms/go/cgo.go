// Built with main.go and CGO_ENABLED=1: the program then links libc
// dynamically (its runtime starts through cgo), so LD_PRELOAD reaches it.
package main

import "C"
