package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// minimum is the fewest upstream calls an operation can make, and why ours
// makes more when it does.
var minimum = map[string]struct {
	dynamodb, stripe, ses int
	reason                string
}{
	"get invoice":                       {1, 0, 0, ""},
	"put invoice (no change)":           {1, 0, 0, ""},
	"create link":                       {2, 2, 0, "one more DynamoDB write: the lease, written before Stripe is called, makes a retry after a crash converge on the same Stripe link and makes concurrent changes take turns (design.md: Crash safety)"},
	"create link (active one returned)": {1, 0, 0, ""},
	"regenerate link":                   {2, 3, 0, "the lease, as for create; the old link's deactivation runs at the same time as the new link's creation"},
	"remove link":                       {2, 1, 0, "the lease, as for create"},
	"e-mail with the active link":       {2, 0, 1, "the lease holds the invoice while the e-mail leaves, so no one ends the link it carries meanwhile"},
	"webhook: payment":                  {3, 1, 1, "the receipt's attempt is marked before SES is called, so a crash after SES took it is recorded from SES's events, never sent twice (design.md: E-mail, exactly once)"},
	"list payments":                     {1, 0, 0, ""},
}

func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	return fmt.Sprintf("%s, %d CPUs (%s), %s, %s", cpu, runtime.NumCPU(), runtime.GOARCH, strings.TrimSpace(string(kernel)), runtime.Version())
}

func report(w io.Writer, arm64 map[string]string, cold map[string][]coldStart, warm map[string]*opStats, rss map[string]int, starts, requests int) {
	fmt.Fprintf(w, "`go run ./cmd/bench -starts %d -requests %d`\n\n", starts, requests)
	fmt.Fprintf(w, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02"), machine())

	helloWall := medianOf(cold[hello], func(c coldStart) time.Duration { return c.wall })
	helloSize := size(arm64[hello])
	fmt.Fprintf(w, "**Functions** (bootstrap: stripped linux/arm64 as `sam build` makes it; cold start: median of %d starts under aws-lambda-rie on this machine, from process start to the first answer, taking turns with a hello-world aws-lambda-go bootstrap built in the same run; peak RSS after 50 requests):\n\n", starts)
	fmt.Fprintln(w, "| function | bootstrap | cold start | × hello world | init (RIE) | peak RSS |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, fn := range append(functions(), hello) {
		wall := medianOf(cold[fn], func(c coldStart) time.Duration { return c.wall })
		init := medianOf(cold[fn], func(c coldStart) time.Duration { return time.Duration(c.init * float64(time.Millisecond)) })
		fmt.Fprintf(w, "| %s | %.2f MiB | %s ms | %.2f | %s ms | %.1f MiB |\n", fn, float64(size(arm64[fn]))/(1<<20), ms(wall),
			float64(wall)/float64(helloWall), ms(init), float64(rss[fn])/1024)
	}
	fmt.Fprintf(w, "\n(hello world: %.2f MiB)\n\n", float64(helloSize)/(1<<20))

	fmt.Fprintf(w, "**Warm requests** (%d per operation, in process on the local stack; own time = latency − time waiting on upstreams, overlapping calls counted once; calls are the median per request):\n\n", requests)
	fmt.Fprintln(w, "| operation | p50 | p99 | own p50 | own p99 | DynamoDB | Stripe | SES | minimum (D/S/E) | why more |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, op := range opOrder() {
		st := warm[op]
		if st == nil {
			continue
		}
		m := minimum[op]
		d, s, e := medianInt(st.calls["dynamodb"]), medianInt(st.calls["stripe"]), medianInt(st.calls["ses"])
		why := ""
		if d > m.dynamodb || s > m.stripe || e > m.ses {
			why = m.reason
		}
		fmt.Fprintf(w, "| %s | %s ms | %s ms | %s ms | %s ms | %d | %d | %d | %d/%d/%d | %s |\n", op,
			ms(median(st.total)), ms(pct(st.total, 0.99)), ms(median(st.own)), ms(pct(st.own, 0.99)), d, s, e, m.dynamodb, m.stripe, m.ses, why)
	}
}

func opOrder() []string {
	return []string{"get invoice", "put invoice (no change)", "create link", "create link (active one returned)", "regenerate link",
		"remove link", "e-mail with the active link", "webhook: payment", "list payments"}
}

func medianOf(cs []coldStart, f func(coldStart) time.Duration) time.Duration {
	var ds []time.Duration
	for _, c := range cs {
		ds = append(ds, f(c))
	}
	return median(ds)
}

func size(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
