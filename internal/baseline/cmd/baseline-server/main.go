// Command baseline-server serves the benchmark baseline (package baseline) with
// the demo user, for scripts/bench-load.sh to put beside plannr-server. It is a
// yardstick, not a product: it logs nothing and has no rate limit.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/internal/baseline"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	token := flag.String("demo-token", "plannr-demo-token", "token of the demo user")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *token); err != nil {
		log.Fatal("baseline-server: ", err)
	}
}

func run(ctx context.Context, addr, token string) error {
	st := memory.New()
	if err := st.Seed(ctx, *fixtures.Demo(token)); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// The same server settings as plannr-server's, so that only the handlers differ.
	srv := &http.Server{
		Handler:           baseline.Handler(st, nil),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	fmt.Printf("baseline-server listening on http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
