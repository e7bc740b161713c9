package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/localapi"
	"github.com/clinicpay/payments/infra/localservers"
	"github.com/clinicpay/payments/infra/samtemplate"
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

// TestDevAnswersItsExamples runs the dev command as `make dev` does, waits for
// its ready line, runs every curl command it prints with bash and checks each
// answer is a success, runs `make smoke` against it (the smoke test of a
// deployed stack, so it can't rot); then stops it with Ctrl-C and checks it
// exits cleanly.
func TestDevAnswersItsExamples(t *testing.T) {
	if tools, err := localservers.FindTools(); err != nil {
		t.Fatal(err)
	} else if err := tools.RequireAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	bin := filepath.Join(t.TempDir(), "dev")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port, err := localservers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = &strings.Builder{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	vars := map[string]string{}
	var curls []string
	ready := ""
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := assignment.FindStringSubmatch(line); m != nil {
			vars[m[1]] = m[2]
		}
		if strings.HasPrefix(line, "curl ") {
			curls = append(curls, line)
		}
		if strings.HasPrefix(line, "ready:") {
			ready = line
		}
		if strings.HasPrefix(line, "Ctrl-C stops everything") {
			break
		}
	}
	if vars["TOKEN"] == "" || vars["PLATFORM_TOKEN"] == "" || len(curls) < 5 {
		t.Fatalf("ready output incomplete: variables %v, %d curl lines; stderr: %s", len(vars), len(curls), cmd.Stderr)
	}
	go func() { // keep draining stdout
		for sc.Scan() {
		}
	}()
	// Every server listens on the loopback address only.
	for _, port := range servers.FindAllStringSubmatch(ready, -1) {
		if addrs := listeningOn(t, port[1]); len(addrs) == 0 || slices.ContainsFunc(addrs, func(a string) bool { return !loopback(a) }) {
			t.Fatalf("port %s listens on %v", port[1], addrs)
		}
	}
	status := regexp.MustCompile(`HTTP_STATUS:(\d{3})$`)
	for _, c := range curls {
		sh := exec.Command("bash", "-c", c+` -w 'HTTP_STATUS:%{http_code}'`)
		sh.Env = os.Environ()
		for k, v := range vars {
			sh.Env = append(sh.Env, k+"="+v)
		}
		out, err := sh.CombinedOutput()
		m := status.FindStringSubmatch(string(out))
		if err != nil || m == nil || m[1][0] != '2' {
			t.Fatalf("%s\n→ %v %s", c, err, out)
		}
	}
	smokeAgainst(t, "http://localhost:"+strconv.Itoa(port), vars["TOKEN"])
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dev did not exit cleanly: %v; stderr: %s", err, cmd.Stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop on Ctrl-C")
	}
}

// smokeAgainst runs `make smoke` against the dev API with the tenant of
// its printed (admin) token, and checks every step passed.
func smokeAgainst(t *testing.T, api, adminToken string) {
	t.Helper()
	staff, err := localapi.IssueToken("", "clinic-demo", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-s", "-C", root, "smoke", "API="+api, "TOKEN="+staff, "ADMIN_TOKEN="+adminToken, "EMAIL=smoke@clinicpay.test").CombinedOutput()
	if err != nil {
		t.Fatalf("make smoke against make dev: %v\n%s", err, out)
	}
	for _, want := range []string{"company clinic-demo read", "invoice smoke-", "payment link plink_", "regenerated", "removed", "e-mailed to smoke@clinicpay.test", "clean-up: no payable link left"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("make smoke did not report %q:\n%s", want, out)
		}
	}
	if testing.Verbose() {
		fmt.Print(string(out))
	}
}
