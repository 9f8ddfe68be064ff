// Command plannr manages the OAuth2 connections of a Plannr CRM account from a
// terminal: list them, change or clear a label, delete one. Run plannr help for
// the commands, flags and environment variables; package internal/cli has the
// logic.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/plannr-toolkit/plannr-oauth/internal/cli"
)

func main() {
	// Ctrl-C cancels the request in flight, or a wait between retries.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
