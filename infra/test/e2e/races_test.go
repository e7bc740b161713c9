package e2e

import (
	"sync"
	"testing"
)

// TestRacesOnOneInvoice: requests racing on one invoice end with at most one
// active link at Stripe and in the store, every link made and no longer
// pointed to deactivated, and every loser told something definite (the
// winner's result, 409 with Retry-After, or a plain contract answer), never a
// 5xx.
func TestRacesOnOneInvoice(t *testing.T) {
	t.Parallel()
	type racer struct{ method, path string }
	regen := func(id string) racer { return racer{"POST", "/invoices/" + id + "/payment-link/regenerate"} }
	remove := func(id string) racer { return racer{"DELETE", "/invoices/" + id + "/payment-link"} }
	create := func(id string) racer { return racer{"POST", "/invoices/" + id + "/payment-link"} }
	emailLink := func(id string) racer { return racer{"POST", "/invoices/" + id + "/emails"} }
	tests := []struct {
		name    string
		racers  func(id string) []racer
		allowed map[int]bool
	}{
		{"two regenerates", func(id string) []racer { return []racer{regen(id), regen(id)} }, map[int]bool{201: true, 409: true}},
		{"regenerate and remove", func(id string) []racer { return []racer{regen(id), remove(id)} }, map[int]bool{201: true, 204: true, 404: true, 409: true}},
		{"remove and e-mail", func(id string) []racer { return []racer{remove(id), emailLink(id)} }, map[int]bool{202: true, 204: true, 404: true, 409: true}},
		{"eight at once", func(id string) []racer {
			return []racer{regen(id), regen(id), remove(id), create(id), emailLink(id), regen(id), remove(id), create(id)}
		}, map[int]bool{200: true, 201: true, 202: true, 204: true, 404: true, 409: true}},
	}
	tn := newTenant(t, "fr")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for round := range 5 {
				id := newInvoice(t, tn)
				call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
				rs := tc.racers(id)
				got := make([]*response, len(rs))
				var start, wg sync.WaitGroup
				start.Add(1)
				for i, r := range rs {
					wg.Go(func() {
						start.Wait()
						var body any
						if r.path[len(r.path)-6:] == "emails" {
							body = map[string]any{"includePaymentLink": true}
						}
						got[i] = call(t, r.method, r.path, tn.Staff, body)
					})
				}
				start.Done()
				wg.Wait()
				for i, g := range got {
					if !tc.allowed[g.Status] {
						t.Fatalf("round %d: %s %s answered %d: %s", round, rs[i].method, rs[i].path, g.Status, g.Raw)
					}
					if g.Status == 409 && g.str("error", "code") == "conflict" && g.Header.Get("Retry-After") == "" {
						t.Fatalf("409 conflict without Retry-After")
					}
				}
				checkLinks(t, tn, id)
			}
		})
	}
}
