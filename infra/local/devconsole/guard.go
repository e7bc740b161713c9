package devconsole

import (
	"net"
	"net/http"
	"slices"
	"strings"
)

// ownHost answers only requests that name the console itself in Host. The
// console hands out admin tokens and makes payments happen, and listens on
// loopback; a page of another site whose name was made to resolve to
// 127.0.0.1 (DNS rebinding) is same-origin with it in the browser's eyes,
// but its requests carry that site's name as Host.
func ownHost(cfg Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cfg.hostAllowed(r.Host) {
			writeError(w, http.StatusForbidden, "forbidden", "the console answers only at its own address (Host "+strings.Join(cfg.hostsOrDefault(), ", ")+")")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses a local endpoint's request sent by a page of another
// origin (another site, or another port of localhost): only the console's
// own page, or a tool that names no origin (curl, make pay), gets a token
// or moves money.
func sameOrigin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		site := r.Header.Get("Sec-Fetch-Site")
		origin := r.Header.Get("Origin")
		if (site != "" && site != "same-origin" && site != "none") || (origin != "" && origin != "http://"+r.Host) {
			writeError(w, http.StatusForbidden, "forbidden", "the console's local endpoints answer its own page only (Origin http://"+r.Host+")")
			return
		}
		next(w, r)
	}
}

// hostAllowed: one of Hosts (exactly, with the port), or when Hosts is
// empty a loopback name on any port.
func (cfg Config) hostAllowed(host string) bool {
	if len(cfg.Hosts) > 0 {
		return slices.Contains(cfg.Hosts, strings.ToLower(host))
	}
	name, _, err := net.SplitHostPort(host)
	if err != nil {
		name = host
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(name, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (cfg Config) hostsOrDefault() []string {
	if len(cfg.Hosts) > 0 {
		return cfg.Hosts
	}
	return []string{"localhost", "127.0.0.1", "[::1]"}
}
