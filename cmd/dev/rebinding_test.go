package main

import (
	"encoding/json"
	"net/http"
	"testing"
)

// checkLocalEdges: make dev's console hands its admin token to its own
// page only (a request naming another host, as a DNS rebinding page's does,
// or sent by another origin is refused), and its scheduler route refuses a
// date years away; as the running dev answers them (called by
// TestDevAnswersItsExamples, which starts it anyway).
func checkLocalEdges(t *testing.T, d *devProcess) {
	t.Helper()
	ask := func(host string, header map[string]string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, d.console+"/_local/session", nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	if status, body := ask("", map[string]string{"Sec-Fetch-Site": "same-origin"}); status != 200 || body["token"] == nil {
		t.Fatalf("the console's own page: %d %v", status, body)
	}
	for _, tc := range []struct {
		name, host string
		header     map[string]string
	}{
		{"a rebound name", "rebind.example:" + d.consolePort, nil},
		{"another port's name", "localhost:1", nil},
		{"another site's page", "", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"another port's page", "", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ask(tc.host, tc.header)
			if errObj, _ := body["error"].(map[string]any); status != http.StatusForbidden || body["token"] != nil || errObj["code"] != "forbidden" {
				t.Fatalf("%d %v", status, body)
			}
		})
	}
	resp, err := http.Post(d.api+"/_local/run/reminders?now=9999-12-31T23:59:59Z", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Error struct{ Code string } }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusBadRequest || body.Error.Code != "invalid_request" {
		t.Fatalf("the scheduler at year 9999: %d %+v %v", resp.StatusCode, body, err)
	}
}
