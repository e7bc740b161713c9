// Package localservers starts the local stand-ins for the services the
// functions use, each on a free loopback port: DynamoDB Local (AWS's own,
// Java), stripe-mock (Stripe's own), aws-ses-v2-local and moto's server
// (SQS). Tests start their
// own stack and stop it afterwards; `make dev` starts one for a developer.
package localservers

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// Pinned versions, read from versions.mk: the Makefile installs exactly
// these and includes the same file.
var (
	DynamoDBSimulatorVersion = pinned("DYNAMODB_SIMULATOR_VERSION")
	StripeMockVersion        = pinned("STRIPE_MOCK_VERSION")
	SESLocalVersion          = pinned("SES_LOCAL_VERSION")
	LambdaRIEVersion         = pinned("LAMBDA_RIE_VERSION")
	SAMTranslatorVersion     = pinned("AWS_SAM_TRANSLATOR_VERSION")
	CfnLintVersion           = pinned("CFN_LINT_VERSION")
	MotoVersion              = pinned("MOTO_VERSION")
)

//go:embed versions.mk
var versionsMk string

// pinned reads NAME's value from versions.mk; a name that is not there is
// a programming error, found by the first test that starts.
func pinned(name string) string {
	for _, line := range strings.Split(versionsMk, "\n") {
		k, v, ok := strings.Cut(line, ":=")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	panic("infra/local/localservers/versions.mk has no " + name)
}

// Tools is the folder `make tools` installs into.
type Tools struct{ Dir string }

// FindTools locates the tools folder: $CLINICPAY_TOOLS, else .tools at the
// repository root. Each server checks its own tool when it starts, so a test
// that needs only stripe-mock runs where only stripe-mock is installed.
func FindTools() (Tools, error) {
	dir := os.Getenv("CLINICPAY_TOOLS")
	if dir == "" {
		root, err := samtemplate.RepoRoot()
		if err != nil {
			return Tools{}, err
		}
		dir = filepath.Join(root, ".tools")
	}
	return Tools{Dir: dir}, nil
}

// Require fails, with the command to run, when a tool is not installed.
func Require(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing: run `make tools` (or `make test`, which installs them)", p)
		}
	}
	return nil
}

// RequireAll fails when any of the local servers' tools is missing.
func (t Tools) RequireAll() error {
	return Require(t.DynamoDBJar(), t.StripeMock(), t.SESLocal(), t.LambdaRIE())
}

// DynamoDBJar is DynamoDB Local's jar.
func (t Tools) DynamoDBJar() string {
	return filepath.Join(t.Dir, "dynamodb-"+DynamoDBSimulatorVersion, "DynamoDBLocal.jar")
}

// StripeMock is the stripe-mock binary.
func (t Tools) StripeMock() string {
	return filepath.Join(t.Dir, "bin", "stripe-mock-"+StripeMockVersion)
}

// SESLocal is aws-ses-v2-local's command-line entry point.
func (t Tools) SESLocal() string {
	return filepath.Join(t.Dir, "ses-"+SESLocalVersion, "node_modules", "aws-ses-v2-local", "dist", "cli.js")
}

// Loopback is the shim that keeps DynamoDB Local on 127.0.0.1 (see
// infra/local/loopback); "" when it was not built (no C compiler).
func (t Tools) Loopback() string {
	p := filepath.Join(t.Dir, "lib", "loopback.so")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// LambdaRIE is the Lambda runtime interface emulator binary.
func (t Tools) LambdaRIE() string {
	return filepath.Join(t.Dir, "bin", "aws-lambda-rie-"+LambdaRIEVersion)
}

// RequireMoto fails, with the command to run, unless python3 imports moto
// at the pinned version (moto is a Python package, not in .tools).
func RequireMoto(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "python3", "-c", "import moto, flask; print(moto.__version__)").Output()
	if got := strings.TrimSpace(string(out)); err != nil || got != MotoVersion {
		return fmt.Errorf("moto[server] %s is needed for python3 (found %q, %v): run `make tools` (pip install \"moto[server]==%s\")", MotoVersion, got, err, MotoVersion)
	}
	return nil
}

// Server is one running local server.
type Server struct {
	Name string
	URL  string
	cmd  *exec.Cmd
	logs *Buffer
	done chan struct{}
}

// Logs returns what the server printed (for failure messages).
func (s *Server) Logs() string { return s.logs.String() }

// Stop ends the server and everything it started.
func (s *Server) Stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs a command in its own process group (so Stop ends its children
// too, and it dies with the parent) and waits until ready says yes.
func start(ctx context.Context, name, url string, ready func(context.Context, string) bool, dir string, env []string, argv ...string) (*Server, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	logs := &Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &Server{Name: name, URL: url, cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()

	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s exited before it was ready:\n%s", name, logs.String())
		default:
		}
		if ready(ctx, url) {
			return s, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Stop()
			return nil, fmt.Errorf("%s did not become ready at %s:\n%s", name, url, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// answers reports whether an HTTP GET gets any answer with an accepted status.
func answers(path string, ok func(int) bool, header ...string) func(context.Context, string) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context, base string) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return false
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return ok(resp.StatusCode)
	}
}

// StartDynamoDB starts DynamoDB Local, in memory, on 127.0.0.1 (through
// the loopback shim, when it was built).
func StartDynamoDB(ctx context.Context, t Tools) (*Server, error) {
	return startDynamoDB(ctx, t, "-inMemory")
}

// StartDynamoDBAt is StartDynamoDB keeping its data in dir (make dev), on
// port when it is not 0. One database for every access key and region
// (-sharedDb), so a developer's own AWS CLI sees the same tables.
func StartDynamoDBAt(ctx context.Context, t Tools, dir string, port int) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if port != 0 {
		return startDynamoDBOn(ctx, t, port, "-dbPath", dir, "-sharedDb")
	}
	return startDynamoDB(ctx, t, "-dbPath", dir, "-sharedDb")
}

func startDynamoDB(ctx context.Context, t Tools, storage ...string) (*Server, error) {
	return retryPort(func(port int) (*Server, error) { return startDynamoDBOn(ctx, t, port, storage...) })
}

func startDynamoDBOn(ctx context.Context, t Tools, port int, storage ...string) (*Server, error) {
	jar := t.DynamoDBJar()
	if err := Require(jar); err != nil {
		return nil, err
	}
	dir := filepath.Dir(jar)
	var env []string
	if shim := t.Loopback(); shim != "" {
		env = []string{"LD_PRELOAD=" + shim}
	}
	argv := []string{"java", "-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"), "-jar", jar,
		"-port", strconv.Itoa(port), "-disableTelemetry"}
	return start(ctx, "DynamoDB Local", "http://127.0.0.1:"+strconv.Itoa(port),
		answers("/", func(int) bool { return true }), dir, env, append(argv, storage...)...)
}

// WebhookSecret is the local signing secret of Stripe webhook deliveries
// (make dev lets STRIPE_WEBHOOK_SECRET override it).
const WebhookSecret = "whsec_local"

// StripeMockKey is the API key used against stripe-mock (any sk_test_ key).
const StripeMockKey = "sk_test_local"

// StartStripeMock starts stripe-mock (HTTP only).
func StartStripeMock(ctx context.Context, t Tools) (*Server, error) {
	if err := Require(t.StripeMock()); err != nil {
		return nil, err
	}
	return retryPort(func(port int) (*Server, error) {
		// Given an HTTP address, stripe-mock also serves HTTPS on [::]:12112
		// unless told where, and also listens on $PORT when it is set (make
		// dev's own): HTTPS goes to a free loopback port, PORT is cleared.
		return start(ctx, "stripe-mock", "http://127.0.0.1:"+strconv.Itoa(port),
			answers("/v1/accounts/acct_ready", func(s int) bool { return s == 200 }, "Authorization", "Bearer "+StripeMockKey), "", []string{"PORT="},
			t.StripeMock(), "-http-addr", "127.0.0.1:"+strconv.Itoa(port), "-https-addr", "127.0.0.1:0")
	})
}

// StartSES starts aws-ses-v2-local on a free port; its web page shows the
// mail it took and GET /store returns it as JSON.
func StartSES(ctx context.Context, t Tools) (*Server, error) {
	return retryPort(func(port int) (*Server, error) { return StartSESAt(ctx, t, port) })
}

// StartSESAt starts aws-ses-v2-local on port (make dev's fixed mail page).
func StartSESAt(ctx context.Context, t Tools, port int) (*Server, error) {
	if err := Require(t.SESLocal()); err != nil {
		return nil, err
	}
	return start(ctx, "aws-ses-v2-local", "http://127.0.0.1:"+strconv.Itoa(port),
		answers("/health-check", func(s int) bool { return s == 200 }), "", nil,
		"node", t.SESLocal(), "--host", "127.0.0.1", "--port", strconv.Itoa(port))
}

// StartSQS starts moto's server (its SQS is the one used) on a free port.
func StartSQS(ctx context.Context) (*Server, error) {
	if err := RequireMoto(ctx); err != nil {
		return nil, err
	}
	return retryPort(func(port int) (*Server, error) {
		return start(ctx, "moto_server", "http://127.0.0.1:"+strconv.Itoa(port),
			answers("/moto-api/", func(s int) bool { return s == 200 }), "", nil,
			"python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	})
}

// retryPort starts a server on a free port, trying another port if one was
// taken between FreePort and the server's bind.
func retryPort(startOn func(port int) (*Server, error)) (*Server, error) {
	var lastErr error
	for range 3 {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		s, err := startOn(port)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// Stack is the four servers together.
type Stack struct {
	DynamoDB, Stripe, SES, SQS *Server
}

// Start starts the four servers at once: DynamoDB in memory, each on a
// free port.
func Start(ctx context.Context, t Tools) (*Stack, error) {
	return StartKept(ctx, t, "", 0)
}

// StartKept is Start with DynamoDB Local keeping its data in dataDir (none
// when "") and aws-ses-v2-local on sesPort (a free one when 0): make dev's
// stack.
func StartKept(ctx context.Context, t Tools, dataDir string, sesPort int) (*Stack, error) {
	var s Stack
	var wg sync.WaitGroup
	var errs [4]error
	wg.Go(func() {
		if dataDir == "" {
			s.DynamoDB, errs[0] = StartDynamoDB(ctx, t)
		} else {
			s.DynamoDB, errs[0] = StartDynamoDBAt(ctx, t, dataDir, 0)
		}
	})
	wg.Go(func() { s.Stripe, errs[1] = StartStripeMock(ctx, t) })
	wg.Go(func() {
		if sesPort == 0 {
			s.SES, errs[2] = StartSES(ctx, t)
		} else {
			s.SES, errs[2] = StartSESAt(ctx, t, sesPort)
		}
	})
	wg.Go(func() { s.SQS, errs[3] = StartSQS(ctx) })
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		s.Stop()
		return nil, err
	}
	return &s, nil
}

// Stop stops every server that started.
func (s *Stack) Stop() {
	for _, srv := range []*Server{s.DynamoDB, s.Stripe, s.SES, s.SQS} {
		srv.Stop()
	}
}

// Buffer collects a process's or a logger's output; safe for concurrent
// writers. It keeps the last MiB or so.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4<<20 {
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

// Take returns what was written and empties the buffer.
func (b *Buffer) Take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// String returns what was written.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
