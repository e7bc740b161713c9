package main

import (
	"net"
	"slices"
	"strconv"
	"strings"
)

// consoleHosts are the Host values the console answers to: its loopback
// names on its port, the address HOST names, and, when HOST opens every
// interface (0.0.0.0 or ::), each interface's address. Names other than
// localhost are never among them: one a page's site made resolve to
// 127.0.0.1 (DNS rebinding) is refused.
func consoleHosts(host string, port int) []string {
	p := strconv.Itoa(port)
	names := []string{"localhost", "127.0.0.1", "::1"}
	ip := net.ParseIP(host)
	switch {
	case ip != nil && ip.IsUnspecified():
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					names = append(names, n.IP.String())
				}
			}
		}
	case host != "":
		names = append(names, host)
	}
	var out []string
	for _, n := range names {
		hp := strings.ToLower(net.JoinHostPort(n, p))
		if !slices.Contains(out, hp) {
			out = append(out, hp)
		}
	}
	return out
}
