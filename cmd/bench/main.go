// Command bench measures the functions (make bench): bootstrap sizes for
// arm64; cold start under aws-lambda-rie, from process start to first
// answer, against a hello-world aws-lambda-go bootstrap built in the same
// run; peak RSS; warm latency per operation on the local stack split into
// own and upstream time; upstream calls per operation against the minimum.
// It prints a Markdown report and, with -write, puts it in that file
// between its markers (make bench: docs/performance.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	starts := flag.Int("starts", 25, "cold starts per function (and of hello world)")
	requests := flag.Int("requests", 300, "warm requests per operation")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the warm requests (run in this process) to this file, for go tool pprof")
	write := flag.String("write", "", "also put the report in this Markdown file, between its make bench markers (docs/performance.md)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *starts, *requests, *cpuProfile, *write); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
