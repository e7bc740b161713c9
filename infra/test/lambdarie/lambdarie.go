// Package lambdarie runs a function's bootstrap as Lambda runs it, under
// AWS's runtime interface emulator (aws-lambda-rie), and builds the API
// Gateway events to invoke it with. The Lambda-runtime test and make bench
// use it.
package lambdarie

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/internal/httpapi"
)

// Build builds a function with its Makefile target, as sam build does, into
// dir, for arch; it returns the bootstrap's path.
func Build(repoRoot, function, arch, dir string) (string, error) {
	cmd := exec.Command("make", "-s", "-C", repoRoot, "build-"+function, "GOARCH="+arch, "ARTIFACTS_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make build-%s GOARCH=%s: %v\n%s", function, arch, err, out)
	}
	return dir + "/bootstrap", nil
}

// Function is a bootstrap running under aws-lambda-rie.
type Function struct {
	rie, bootstrap string
	env            []string
	invokeURL      string
	cmd            *exec.Cmd
	exited         chan struct{} // closed once the emulator's process ended
	logs           *localservers.Buffer
}

// Start runs bootstrap under the emulator with env, on free ports. The
// bootstrap starts (its init runs) on the first invocation, as in Lambda.
func Start(rie, bootstrap string, env []string) (*Function, error) {
	f := &Function{rie: rie, bootstrap: bootstrap, env: env, logs: &localservers.Buffer{}}
	return f, f.start()
}

// start runs the emulator on two ports free a moment ago.
func (f *Function) start() error {
	port, err := localservers.FreePort()
	if err != nil {
		return err
	}
	apiPort, err := localservers.FreePort()
	if err != nil {
		return err
	}
	f.invokeURL = "http://127.0.0.1:" + strconv.Itoa(port) + "/2015-03-31/functions/function/invocations"
	f.cmd = exec.Command(f.rie,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		f.bootstrap)
	f.cmd.Env = f.env
	f.cmd.Stdout, f.cmd.Stderr = f.logs, f.logs
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := f.cmd.Start(); err != nil {
		return err
	}
	f.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(f.cmd, f.exited)
	return nil
}

// lostItsPort reports an emulator that died because a port chosen free
// was taken before it listened (FreePort's ports are the kernel's
// ephemeral ones, which the tests' own connections use too). It binds the
// runtime API's port only on the first invocation.
func (f *Function) lostItsPort() bool {
	select {
	case <-f.exited:
		return strings.Contains(f.logs.String(), "address already in use")
	default:
		return false
	}
}

// Endpoint is the emulator's base URL, for an AWS SDK Lambda client
// (its Invoke API; the function's name there is "function").
func (f *Function) Endpoint() string {
	return strings.TrimSuffix(f.invokeURL, "/2015-03-31/functions/function/invocations")
}

// Stop ends the emulator and the bootstrap.
func (f *Function) Stop() {
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	<-f.exited
}

// Logs is what the emulator and the function printed.
func (f *Function) Logs() string { return f.logs.String() }

var client = &http.Client{Timeout: 2 * time.Minute}

// Invoke sends an event (a value, or JSON bytes) as Lambda's frontend does,
// waiting for the emulator to listen, and returns the function's answer.
func (f *Function) Invoke(event any) (events.APIGatewayV2HTTPResponse, error) {
	raw, err := f.InvokeRaw(event)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var out events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &out); err != nil || out.StatusCode == 0 {
		return out, fmt.Errorf("not an API Gateway answer: %s\n%s", raw, f.Logs())
	}
	return out, nil
}

// InvokeRaw invokes the function with an event (a value marshalled to JSON,
// or the JSON itself) and returns what it answered, as bytes: the
// event-driven functions answer no API Gateway response.
func (f *Function) InvokeRaw(event any) ([]byte, error) {
	body, ok := event.([]byte)
	if !ok {
		var err error
		if body, err = json.Marshal(event); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(2 * time.Minute) // a hang, not a slow machine
	for restarts := 0; ; {
		resp, err := client.Post(f.invokeURL, "application/json", bytes.NewReader(body))
		if err != nil && restarts < 3 && f.lostItsPort() {
			restarts++
			if err := f.start(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("the emulator does not answer: %v\n%s", err, f.Logs())
			}
			time.Sleep(200 * time.Microsecond)
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return raw, nil
	}
}

// PeakRSS is the bootstrap's high-water mark of resident memory, in KiB
// (0 when it is not running).
func (f *Function) PeakRSS() int {
	parent := "\nPPid:\t" + strconv.Itoa(f.cmd.Process.Pid) + "\n"
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		status, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil || !strings.Contains(string(status), parent) {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
				return kb
			}
		}
	}
	return 0
}

// APIEvent is the payload-format-2.0 event API Gateway sends for a request
// to one of the contract's routes; claims are what the JWT authorizer
// verified (nil: no authorizer, as for the webhook).
func APIEvent(method, path string, params, claims map[string]string, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	route := ""
	for _, r := range httpapi.Routes {
		if r.Method == method && matches(r.Path, path) {
			route = r.Key()
		}
	}
	h := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path, Headers: h, PathParameters: params, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "123456789012", APIID: "rie", DomainName: "rie.example", RequestID: strconv.FormatInt(time.Now().UnixNano(), 36),
			RouteKey: route, Stage: "$default", TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.9"},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return ev
}

func matches(pattern, path string) bool {
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != xs[i] && !strings.HasPrefix(ps[i], "{") {
			return false
		}
	}
	return true
}
