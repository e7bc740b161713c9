package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/local/localservers"
)

// servers are the local servers' addresses in the ready line.
var servers = regexp.MustCompile(`https?://(?:localhost|127\.0\.0\.1):(\d+)`)

// listeningOn reads the kernel's table of listening TCP sockets for the
// local addresses a port is bound to ("0100007F" is 127.0.0.1).
func listeningOn(t *testing.T, port string) []string {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(":%04X", p)
	var addrs []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 3 && f[3] == "0A" && strings.HasSuffix(f[1], want) { // 0A: LISTEN
				addrs = append(addrs, strings.TrimSuffix(f[1], want))
			}
		}
	}
	return addrs
}

// loopback reports 127.0.0.1, ::1 or ::ffff:127.0.0.1 as /proc writes them.
func loopback(hexAddr string) bool {
	switch hexAddr {
	case "0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F":
		return true
	}
	return false
}

// assignment is a shell variable the ready output sets (TOKEN=…).
var assignment = regexp.MustCompile(`^([A-Z_]+)=(\S+)$`)

// devProcess is one run of the dev command, as make dev runs it, on free
// ports and a data folder of the test's.
type devProcess struct {
	cmd                       *exec.Cmd
	api, console, mail        string
	vars                      map[string]string
	curls                     []string
	ready                     string
	stderr                    *strings.Builder
	apiPort, consolePort, dir string
}

// binDir holds the dev command built for this test binary; TestMain removes
// it (a 25 MB binary per run otherwise stays in the temp folder).
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir) // best effort: a leftover temp folder fails nothing
	}
	os.Exit(code)
}

// devBinary builds the dev command once per test binary.
var devBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "clinicpay-dev")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "dev")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
})

// startDev runs the dev command with its data in dir and waits for its
// ready output; env adds settings (RESET=1, CORS_ALLOWED_ORIGINS=…).
func startDev(t *testing.T, dir string, env ...string) *devProcess {
	t.Helper()
	if tools, err := localservers.FindTools(); err != nil {
		t.Fatal(err)
	} else if err := tools.RequireAll(); err != nil {
		t.Fatal(err)
	}
	bin, err := devBinary()
	if err != nil {
		t.Fatal(err)
	}
	ports := make([]string, 3)
	for i := range ports {
		p, err := localservers.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = strconv.Itoa(p)
	}
	d := &devProcess{vars: map[string]string{}, stderr: &strings.Builder{}, apiPort: ports[0], consolePort: ports[1], dir: dir,
		api: "http://localhost:" + ports[0], console: "http://localhost:" + ports[1], mail: "http://localhost:" + ports[2]}
	d.cmd = exec.Command(bin)
	d.cmd.Env = append(os.Environ(), "PORT="+ports[0], "CONSOLE_PORT="+ports[1], "MAIL_PORT="+ports[2], "DEV_DATA="+dir)
	d.cmd.Env = append(d.cmd.Env, env...)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, _ := d.cmd.StdoutPipe()
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.cmd.Process.Kill(); _ = d.cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := assignment.FindStringSubmatch(line); m != nil {
			d.vars[m[1]] = m[2]
		}
		if strings.HasPrefix(line, "curl ") {
			d.curls = append(d.curls, line)
		}
		if strings.HasPrefix(line, "ready:") {
			d.ready = line
		}
		if strings.HasPrefix(line, "Ctrl-C stops everything") {
			break
		}
	}
	if d.vars["TOKEN"] == "" || d.vars["PLATFORM_TOKEN"] == "" || len(d.curls) < 5 || d.ready == "" {
		t.Fatalf("ready output incomplete: variables %v, %d curl lines; stderr: %s", len(d.vars), len(d.curls), d.stderr)
	}
	go func() { // keep draining stdout
		for sc.Scan() {
		}
	}()
	return d
}

// stop ends the dev command as Ctrl-C does and checks it exits cleanly.
func (d *devProcess) stop(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dev did not exit cleanly: %v; stderr: %s", err, d.stderr)
		}
	case <-time.After(2 * time.Minute): // a hang, not a slow machine
		t.Fatal("dev did not stop on Ctrl-C")
	}
}

// get calls the dev API with a token and returns the status and body.
func (d *devProcess) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDevAnswersItsExamples runs the dev command as `make dev` does, waits for
// its ready line, runs every curl command it prints with bash and checks each
// answer is a success, runs `make smoke` against it (the smoke test of a
// deployed stack, so it can't rot); then stops it with Ctrl-C, starts it
// again on the same data (everything is still there, a link's page still
// opens), and once more with RESET=1 (only the demo data is there).
func TestDevAnswersItsExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed (the README's requirements; its examples are curl commands)")
	}
	dir := t.TempDir()
	d := startDev(t, dir)
	checkLocalEdges(t, d)
	// Every server listens on the loopback address only.
	for _, port := range servers.FindAllStringSubmatch(d.ready, -1) {
		if addrs := listeningOn(t, port[1]); len(addrs) == 0 || slices.ContainsFunc(addrs, func(a string) bool { return !loopback(a) }) {
			t.Fatalf("port %s listens on %v", port[1], addrs)
		}
	}
	for _, want := range []string{d.api, d.console, d.mail} {
		if !strings.Contains(d.ready, want) {
			t.Fatalf("the ready line does not say where %s is: %s", want, d.ready)
		}
	}
	status := regexp.MustCompile(`HTTP_STATUS:(\d{3})$`)
	for _, c := range d.curls {
		sh := exec.Command("bash", "-c", c+` -w 'HTTP_STATUS:%{http_code}'`)
		sh.Env = os.Environ()
		for k, v := range d.vars {
			sh.Env = append(sh.Env, k+"="+v)
		}
		out, err := sh.CombinedOutput()
		m := status.FindStringSubmatch(string(out))
		if err != nil || m == nil || m[1][0] != '2' {
			t.Fatalf("%s\n→ %v %s", c, err, out)
		}
	}
	smokeAgainst(t, d.api, d.console, d.vars["TOKEN"])
	code, body := d.get(t, "/invoices/F-2026-0100", d.vars["TOKEN"])
	// Before make pay: the link of the curl examples, for after the restart.
	var inv struct {
		PaymentLink *struct{ URL string } `json:"paymentLink"`
	}
	if err := json.Unmarshal([]byte(body), &inv); code != 200 || err != nil || inv.PaymentLink == nil || !strings.HasPrefix(inv.PaymentLink.URL, d.console+"/pay/plink_") {
		t.Fatalf("the example invoice: %d %s", code, body)
	}
	// make pay plays the patient, the bank and Stripe from a terminal.
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ outcome, want, status string }{
		{"paid", "checkout.session.completed                 → 200 applied", `"status":"paid"`},
		{"refund:2500", "charge.refunded                            → 200 applied", `"status":"partially_refunded"`},
		{"dispute:lost", "charge.dispute.closed                      → 200 applied", `"status":"dispute_lost"`},
		{"bogus", "OUTCOME must be", `"status":"dispute_lost"`},
	} {
		out, _ := exec.Command("make", "-s", "-C", root, "pay", "INVOICE=F-2026-0100", "OUTCOME="+step.outcome, "CONSOLE_PORT="+d.consolePort).CombinedOutput()
		if !strings.Contains(string(out), step.want) {
			t.Fatalf("make pay OUTCOME=%s said:\n%s", step.outcome, out)
		}
		if _, body := d.get(t, "/invoices/F-2026-0100", d.vars["TOKEN"]); !strings.Contains(body, step.status) {
			t.Fatalf("after make pay OUTCOME=%s: %s", step.outcome, body)
		}
	}
	d.stop(t)

	// Started again on the same data: the invoice, its link's page and the
	// e-mail it was sent in are all still there.
	d = startDev(t, dir)
	if code, body := d.get(t, "/invoices/F-2026-0100", d.vars["TOKEN"]); code != 200 || !strings.Contains(body, `"emails":[{`) || !strings.Contains(body, `"status":"dispute_lost"`) {
		t.Fatalf("after a restart: %d %s", code, body)
	}
	// (The link's URL names the first run's port; make dev's are fixed.)
	linkID := inv.PaymentLink.URL[strings.LastIndex(inv.PaymentLink.URL, "/")+1:]
	if resp, err := http.Get(d.console + "/pay/" + linkID); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the link's page after a restart: %v %v", resp, err)
	} else if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), "Facture payée, merci.") {
		t.Fatalf("the paid link's page after a restart does not show its inactive message:\n%s", b)
	}
	if resp, err := http.Get(d.console + "/_local/mailbox"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("mailbox: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), "marie@example.com") {
			t.Fatalf("the mailbox lost its e-mails at the restart: %s", b)
		}
	}
	d.stop(t)

	// RESET=1 starts empty: the demo data only.
	d = startDev(t, dir, "RESET=1")
	if code, _ := d.get(t, "/invoices/F-2026-0100", d.vars["TOKEN"]); code != 404 {
		t.Fatalf("after RESET=1 the example invoice answers %d", code)
	}
	if code, body := d.get(t, "/invoices", d.vars["TOKEN"]); code != 200 || strings.Count(body, `"number":`) != 3 {
		t.Fatalf("after RESET=1: %d %s", code, body)
	}
	d.stop(t)
}

// smokeAgainst runs `make smoke` against the dev API with the tenant of
// its printed (admin) token, from the console's origin (which make dev
// allows, as CORS in AWS allows the front end's), and checks every step
// passed.
func smokeAgainst(t *testing.T, api, origin, adminToken string) {
	t.Helper()
	staff, err := localapi.IssueToken("", "clinic-demo", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-s", "-C", root, "smoke", "API="+api, "TOKEN="+staff, "ADMIN_TOKEN="+adminToken, "EMAIL=smoke@clinicpay.test", "ORIGIN="+origin).CombinedOutput()
	if err != nil {
		t.Fatalf("make smoke against make dev: %v\n%s", err, out)
	}
	for _, want := range []string{"company clinic-demo read", "CORS: a browser on " + origin, "invoice smoke-", "payment link plink_", "regenerated", "removed", "e-mailed to smoke@clinicpay.test", "clean-up: no payable link left"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("make smoke did not report %q:\n%s", want, out)
		}
	}
	if testing.Verbose() {
		fmt.Print(string(out))
	}
}
