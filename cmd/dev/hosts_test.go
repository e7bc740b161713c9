package main

import (
	"slices"
	"testing"
)

func TestConsoleHosts(t *testing.T) {
	tests := []struct {
		host      string
		want      []string
		forbidden []string
	}{
		{"127.0.0.1", []string{"localhost:3001", "127.0.0.1:3001", "[::1]:3001"}, []string{"evil.example:3001", "localhost:3000", "localhost"}},
		{"192.168.1.5", []string{"localhost:3001", "192.168.1.5:3001"}, []string{"evil.example:3001"}},
		{"0.0.0.0", []string{"localhost:3001", "127.0.0.1:3001"}, []string{"evil.example:3001", "0.0.0.0:3001"}},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			got := consoleHosts(tc.host, 3001)
			for _, h := range tc.want {
				if !slices.Contains(got, h) {
					t.Errorf("%s missing from %v", h, got)
				}
			}
			for _, h := range tc.forbidden {
				if slices.Contains(got, h) {
					t.Errorf("%s in %v", h, got)
				}
			}
		})
	}
}
