// Command ward is the Ward clinic records app: with no command it opens the
// window; with a command it is the command line (`ward help`).
package main

import (
	"os"

	"ward/ui/cli"
	"ward/ui/gui"
)

func main() {
	cli.OpenWindow = gui.Run
	cli.OpenKitWindow = gui.RunKit
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
