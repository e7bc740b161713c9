package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/localapi"
	"github.com/clinicpay/payments/infra/localstack"
	"github.com/clinicpay/payments/infra/samtemplate"
)

// TestDevAnswersItsExamples runs the dev command as `make dev` does, waits for
// its ready line, runs every curl command it prints with bash and checks each
// answer is a success, runs `make smoke` against it (the smoke test of a
// deployed stack, so it can't rot); then stops it with Ctrl-C and checks it
// exits cleanly.
func TestDevAnswersItsExamples(t *testing.T) {
	if _, err := localstack.FindTools(); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	bin := filepath.Join(t.TempDir(), "dev")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port, err := localstack.FreePort()
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

	var token string
	var curls []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "TOKEN="); ok {
			token = v
		}
		if strings.HasPrefix(line, "curl ") {
			curls = append(curls, line)
		}
		if strings.HasPrefix(line, "Ctrl-C stops everything") {
			break
		}
	}
	if token == "" || len(curls) < 5 {
		t.Fatalf("ready output incomplete: token %v, %d curl lines; stderr: %s", token != "", len(curls), cmd.Stderr)
	}
	go func() { // keep draining stdout
		for sc.Scan() {
		}
	}()
	status := regexp.MustCompile(`HTTP_STATUS:(\d{3})$`)
	for _, c := range curls {
		sh := exec.Command("bash", "-c", c+` -w 'HTTP_STATUS:%{http_code}'`)
		sh.Env = append(os.Environ(), "TOKEN="+token)
		out, err := sh.CombinedOutput()
		m := status.FindStringSubmatch(string(out))
		if err != nil || m == nil || m[1][0] != '2' {
			t.Fatalf("%s\n→ %v %s", c, err, out)
		}
	}
	smokeAgainst(t, "http://localhost:"+strconv.Itoa(port), token)
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
