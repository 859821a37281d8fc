// A one-message maildir queue in Go, the interface of mechq.h: enqueue
// reads the message on stdin and makes it durable in Maildir/new/ID; exit 0
// acknowledges it. Built static (CGO_ENABLED=0, main.go alone: Go's own
// runtime makes every system call, and the ptrace recorder records it) and
// with cgo (main.go and cgo.go: linked against libc, the preloaded recorder
// records it). Both builds must get the same verdicts.
//
// Usage: mech_go VARIANT ID
//
//	good        write, fsync, rename into Maildir/new, fsync of Maildir/new
//	bad         no fsync of Maildir/new: the name can be lost
//	bad-nosync  no fsync of the file before the rename: a torn or empty copy
package main

import (
	"fmt"
	"io"
	"os"
)

func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1) // not acknowledged
}

func syncDir(path string) {
	d, err := os.Open(path)
	if err != nil {
		die("open "+path, err)
	}
	if err := d.Sync(); err != nil {
		die("fsync "+path, err)
	}
	d.Close()
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s VARIANT ID\n", os.Args[0])
		os.Exit(2)
	}
	variant, id := os.Args[1], os.Args[2]
	msg, err := io.ReadAll(os.Stdin)
	if err != nil {
		die("read stdin", err)
	}
	tmp, dst := "Maildir/tmp/"+id, "Maildir/new/"+id
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0600)
	if err != nil {
		die("open", err)
	}
	if _, err := f.Write(msg); err != nil {
		die("write", err)
	}
	if variant != "bad-nosync" {
		if err := f.Sync(); err != nil {
			die("fsync", err)
		}
	}
	if err := f.Close(); err != nil {
		die("close", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		die("rename", err)
	}
	if variant != "bad" {
		syncDir("Maildir/new")
	}
}
