// Command ward is the Ward clinic records app: with no command it opens the
// window (the GUI arrives with its own issue); with a command it is the CLI.
package main

import (
	"os"

	"ward/ui/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
