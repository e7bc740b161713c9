package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/test/faultproxy"
)

var payButton = regexp.MustCompile(`<a href="([^"]+)"[^>]*data-role="pay-invoice"[^>]*>([^<]+)</a>`)

func TestInvoiceEmail(t *testing.T) {
	t.Parallel()

	t.Run("French, with a payment link", func(t *testing.T) {
		tn := newTenant(t, "fr")
		id := "inv-" + randomHex(4)
		b := invoiceBody("F-2026-0042", 125000, 125000, "fr")
		b["patient"] = map[string]any{"name": `Marie <script>alert("x")</script> Tremblay`, "email": "marie." + tn.ID + "@example.com", "language": "fr"}
		b["lines"] = []any{
			map[string]any{"description": `<b>Psychothérapie</b> & "suivi"`, "amount": 100000},
			map[string]any{"description": "Rapport", "amount": 25000},
		}
		call(t, "PUT", "/invoices/"+id, tn.Staff, b).want(t, 201)
		note := "Merci de votre visite.\n<img src=x onerror=alert(1)> Au plaisir!"
		r := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{"includePaymentLink": true, "message": note}).want(t, 202)
		if r.str("to") != "marie."+tn.ID+"@example.com" || r.str("language") != "fr" || r.str("sentAt") == "" || r.str("messageId") == "" {
			t.Fatalf("answer: %s", r.Raw)
		}
		linkURL := r.str("paymentLink", "url")
		view := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		if view.str("paymentLink", "url") != linkURL || linkURL == "" {
			t.Fatalf("the e-mail's link is not the active link: %s", view.Raw)
		}

		m := mailByID(t, r.str("messageId"))
		if m.Subject != "Facture F-2026-0042 – Clinique Saint-Louis" {
			t.Errorf("subject %q", m.Subject)
		}
		if !strings.Contains(m.From, "Clinique Saint-Louis") || !strings.Contains(m.From, "factures@clinicpay.test") {
			t.Errorf("from %q", m.From)
		}
		if len(m.ReplyTo) != 1 || m.ReplyTo[0] != "facturation@clinique.example" {
			t.Errorf("reply-to %v", m.ReplyTo)
		}
		if len(m.Destination.To) != 1 || m.Destination.To[0] != "marie."+tn.ID+"@example.com" {
			t.Errorf("to %v", m.Destination.To)
		}
		for _, want := range []string{"Bonjour", "F-2026-0042", "20 novembre 2026", "20 décembre 2026", "1 250,00 $", "1 000,00 $", "250,00 $", "Payer la facture", linkURL, "Au plaisir!"} {
			if !strings.Contains(m.Body.Text, want) {
				t.Errorf("text part lacks %q", want)
			}
		}
		button := payButton.FindStringSubmatch(m.Body.HTML)
		if button == nil || button[1] != linkURL || button[2] != "Payer la facture" {
			t.Fatalf("HTML button: %v\n%s", button, m.Body.HTML)
		}
		// The button is the last thing in the message body.
		if strings.Index(m.Body.HTML, "data-role=\"pay-invoice\"") < strings.Index(m.Body.HTML, "Solde à payer") {
			t.Error("the button should come after the amounts")
		}
		for _, raw := range []string{"<script>", "<img src=x", "<b>Psychothérapie</b>"} {
			if strings.Contains(m.Body.HTML, raw) {
				t.Errorf("HTML part has unescaped input %q", raw)
			}
		}
		for _, escaped := range []string{"&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&lt;b&gt;Psychothérapie&lt;/b&gt; &amp; &#34;suivi&#34;"} {
			if !strings.Contains(m.Body.HTML, escaped) {
				t.Errorf("HTML part lacks escaped %q", escaped)
			}
		}
		for _, private := range []string{"Marie", "Tremblay", "Psychothérapie", "Rapport"} {
			if strings.Contains(m.Subject, private) {
				t.Errorf("subject names %q", private)
			}
		}
	})

	t.Run("English, without a link", func(t *testing.T) {
		tn := newTenant(t, "en")
		id := "inv-" + randomHex(4)
		b := invoiceBody("INV-7", 12500, 12500, "")
		delete(b["patient"].(map[string]any), "language") // falls back to the company's language
		call(t, "PUT", "/invoices/"+id, tn.Staff, b).want(t, 201)
		r := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{"includePaymentLink": false}).want(t, 202)
		if r.str("language") != "en" || r.JSON["paymentLink"] != nil {
			t.Fatalf("answer: %s", r.Raw)
		}
		m := mailByID(t, r.str("messageId"))
		if m.Subject != "Invoice INV-7 from Clinique Saint-Louis" {
			t.Errorf("subject %q", m.Subject)
		}
		for _, want := range []string{"Hello Marie Tremblay", "November 20, 2026", "$125.00", "Balance due"} {
			if !strings.Contains(m.Body.Text, want) || !strings.Contains(m.Body.HTML, want) {
				t.Errorf("message lacks %q", want)
			}
		}
		if strings.Contains(m.Body.HTML, "pay-invoice") || strings.Contains(m.Body.Text, "Pay Invoice") {
			t.Error("a message without a link shows the button")
		}
		if len(stripeCalls(tn.Account)) != 0 {
			t.Error("Stripe was called for an e-mail without a link")
		}
	})

	t.Run("English override, existing link reused", func(t *testing.T) {
		tn := newTenant(t, "fr")
		id := newInvoice(t, tn)
		link := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
		r := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{
			"includePaymentLink": true, "to": "billing-" + tn.ID + "@family.example", "language": "en",
		}).want(t, 202)
		if r.str("paymentLink", "id") != link.str("id") || r.str("to") != "billing-"+tn.ID+"@family.example" || r.str("language") != "en" {
			t.Fatalf("answer: %s", r.Raw)
		}
		if n := countCalls(stripeCalls(tn.Account), "POST", "/v1/payment_links"); n != 1 {
			t.Fatalf("%d payment-link calls, want 1", n)
		}
		m := mailByID(t, r.str("messageId"))
		button := payButton.FindStringSubmatch(m.Body.HTML)
		if button == nil || button[1] != link.str("url") || button[2] != "Pay Invoice" {
			t.Fatalf("button: %v", button)
		}
		if m.Destination.To[0] != "billing-"+tn.ID+"@family.example" {
			t.Fatalf("to: %v", m.Destination.To)
		}
		view := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		if e := view.list("emails"); len(e) != 1 || e[0]["to"] != "billing-"+tn.ID+"@family.example" || e[0]["language"] != "en" {
			t.Fatalf("emails: %s", view.Raw)
		}
		// Newest first.
		second := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, `{}`).want(t, 202)
		view = call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		if e := view.list("emails"); len(e) != 2 || e[0]["messageId"] != second.str("messageId") {
			t.Fatalf("emails order: %s", view.Raw)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tn := newTenant(t, "fr")
		id := newInvoice(t, tn)
		path := "/invoices/" + id + "/emails"
		for _, tc := range []struct {
			name  string
			body  any
			field string
		}{
			{"bad address", map[string]any{"to": "nobody"}, "to"},
			{"header injection", map[string]any{"to": "a@example.com\r\nBcc: all@example.com"}, "to"},
			{"language", map[string]any{"language": "de"}, "language"},
			{"long note", map[string]any{"message": strings.Repeat("a", 1001)}, "message"},
			{"wrong type", map[string]any{"includePaymentLink": "yes"}, "includePaymentLink"},
			{"unknown field", map[string]any{"cc": "x@example.com"}, "cc"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := call(t, "POST", path, tn.Staff, tc.body).wantError(t, 400, "invalid_request")
				if r.str("error", "field") != tc.field {
					t.Fatalf("field: %s", r.Raw)
				}
			})
		}
		call(t, "POST", path, tn.Staff, map[string]any{"message": strings.Repeat("é", 1000)}).want(t, 202)
		call(t, "POST", "/invoices/inv-none/emails", tn.Staff, `{}`).wantError(t, 404, "not_found")

		paid := "inv-" + randomHex(4)
		call(t, "PUT", "/invoices/"+paid, tn.Staff, invoiceBody("F-3", 12500, 0, "fr")).want(t, 201)
		call(t, "POST", "/invoices/"+paid+"/emails", tn.Staff, map[string]any{"includePaymentLink": true}).wantError(t, 409, "nothing_due")

		bare := bareTenant(t)
		bid := newInvoice(t, bare)
		call(t, "POST", "/invoices/"+bid+"/emails", bare.Staff, `{}`).wantError(t, 409, "billing_company_not_configured")
	})

	t.Run("SES refuses or throttles", func(t *testing.T) {
		tn := newTenant(t, "fr")
		id := newInvoice(t, tn)
		to := func(addr string) func(r *faultproxy.Request) bool {
			return func(r *faultproxy.Request) bool { return r.Form.Get("Destinations.member.1") == addr }
		}
		rejected := "rejected-" + tn.ID + "@example.com"
		env.ses.Inject(faultproxy.Rule{Match: to(rejected), Status: http.StatusBadRequest,
			Header: http.Header{"Content-Type": {"text/xml"}},
			Body:   `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>MessageRejected</Code><Message>Email address is not verified.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`})
		call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{"to": rejected, "includePaymentLink": true}).wantError(t, 502, "email_provider_error")

		throttled := "throttled-" + tn.ID + "@example.com"
		env.ses.Inject(faultproxy.Rule{Match: to(throttled), Status: http.StatusBadRequest,
			Header: http.Header{"Content-Type": {"text/xml"}},
			Body:   `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`})
		r := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{"to": throttled}).wantError(t, 503, "email_provider_unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		view := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		if len(view.list("emails")) != 0 {
			t.Fatalf("a refused e-mail was recorded: %s", view.Raw)
		}
		// The link made for the refused e-mail is kept: it is a real link.
		if view.JSON["paymentLink"] == nil {
			t.Fatalf("the link made before SES refused was lost: %s", view.Raw)
		}
	})
}
