package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// browser starts headless Chromium (Debian's; make test installs it) and
// returns a tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is missing: run make chromium (make test installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "fr-CA"))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses its sandbox to root (CI)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	// A guard against a hang, not a measure of speed.
	actx, cancel = context.WithTimeout(actx, 8*time.Minute)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// newTab opens a tab (or attaches to one, with WithTargetID). Its first
// action runs on the tab's own context: chromedp ties the tab to the
// context of its first run, and the steps' guards are shorter-lived.
func newTab(t *testing.T, parent context.Context, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// screenshots go to .build/screenshots (git-ignored), numbered in order.
type shooter struct {
	dir string
	n   int
}

func newShooter(t *testing.T) *shooter {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".build", "screenshots")
	if err := os.RemoveAll(dir); err != nil { // this run's only
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &shooter{dir: dir}
}

func (s *shooter) shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name)), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// stepGuard bounds one step: a step that hangs fails the test in minutes,
// not at the whole test's guard. It is no measure of speed.
const stepGuard = 90 * time.Second

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepGuard)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v; the page says: %s", what, err, pageSays(ctx))
	}
}

// pageSays is the open dialog's text, or the page's, for a failed step's
// message (the step's own context may have run out).
func pageSays(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('dialog[open]') || document.body).innerText.slice(0, 600)`))
	if err != nil {
		return err.Error()
	}
	return v
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepGuard)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// until evaluates js until it is true: the console redraws after each
// answer, so the test waits for the page, not for a duration.
func until(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepGuard)
	defer cancel()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepGuard)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("the text of %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// TestConsoleInABrowser clicks through the product as staff and a patient
// would, in Chromium, against make dev: open an invoice, add a payment
// link, generate a new one (the URL changes, the old one is listed as
// replaced), send it by e-mail, open the mailbox, click Pay Invoice, pay by
// card on the local checkout and see the invoice paid; then, in English, a
// second invoice paid by pre-authorized debit (processing, then paid) and
// partly refunded; the invoice window by keyboard alone; and a page on
// another origin calling the API (CORS).
func TestConsoleInABrowser(t *testing.T) {
	// A page on another origin, allowed by the one CORS setting, and one
	// that is not.
	page := `<!doctype html><title>front end</title><p>another origin</p>`
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(page)) }))
	defer other.Close()
	stranger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(page)) }))
	defer stranger.Close()

	d := startDev(t, t.TempDir(), "CORS_ALLOWED_ORIGINS="+other.URL)
	ctx := browser(t)
	s := newShooter(t)

	ok := t.Run("link, new link, e-mail, mailbox, card payment", func(t *testing.T) {
		do(t, ctx, "open the console", chromedp.Navigate(d.console+"/#/invoices"),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-invoice="F-2026-0042"]`)))
		if got := text(t, ctx, "h1"); got != "Factures" {
			t.Fatalf("the console opens on %q", got)
		}
		s.shot(t, ctx, "invoice-list")

		// Search: the accented patient, typed without the accent.
		do(t, ctx, "search a patient", chromedp.SetValue(chromedp.CSS(`input[name="q"]`), "helene"))
		eval[bool](t, ctx, `document.querySelector('input[name="q"]').dispatchEvent(new Event('change'))`)
		until(t, ctx, "the accented patient found", `location.hash.includes('q=helene') && document.querySelectorAll('tr[data-invoice]').length === 1 && !!document.querySelector('tr[data-invoice="F-2026-0044"]')`)
		if got := text(t, ctx, `tr[data-invoice="F-2026-0044"] td`); got != "Hélène Gagnon" {
			t.Fatalf("the search found %q", got)
		}
		s.shot(t, ctx, "search")
		do(t, ctx, "back to the list", chromedp.Navigate(d.console+"/#/invoices"),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-invoice="F-2026-0042"]`)))

		do(t, ctx, "open an invoice", chromedp.Click(chromedp.CSS(`tr[data-invoice="F-2026-0042"] a`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-action="add"]`)))
		s.shot(t, ctx, "invoice-window")

		do(t, ctx, "add a payment link", chromedp.Click(chromedp.CSS(`[data-action="add"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="link-url"]`)))
		first := eval[string](t, ctx, `document.querySelector('[data-testid="link-url"]').value`)
		if !strings.HasPrefix(first, d.console+"/pay/plink_") {
			t.Fatalf("the link's URL is %q", first)
		}
		s.shot(t, ctx, "link-added")

		// Generating asks first, naming the invoice and what happens to
		// the e-mails already sent (none yet).
		do(t, ctx, "generate a new link", chromedp.Click(chromedp.CSS(`[data-action="regenerate"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
		if got := text(t, ctx, `dialog[open] [data-testid="dialog-about"]`); got != "Facture F-2026-0042 — Marie Tremblay" {
			t.Fatalf("the confirmation is about %q", got)
		}
		if got := text(t, ctx, `dialog[open] [data-testid="confirm-emails"]`); !strings.Contains(got, "Aucun courriel") {
			t.Fatalf("the confirmation says %q of the e-mails sent", got)
		}
		if got := eval[string](t, ctx, `document.querySelector('[data-testid="link-url"]').value`); got != first {
			t.Fatal("the link changed before it was confirmed")
		}
		s.shot(t, ctx, "confirm-regenerate")
		do(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
		until(t, ctx, "a new URL", fmt.Sprintf(`document.querySelector('[data-testid="link-url"]')?.value.startsWith(%q) && document.querySelector('[data-testid="link-url"]').value !== %q`, d.console+"/pay/", first))
		second := eval[string](t, ctx, `document.querySelector('[data-testid="link-url"]').value`)
		firstID := first[strings.LastIndex(first, "/")+1:]
		until(t, ctx, "the old link listed as replaced", fmt.Sprintf(`!!document.querySelector('tr[data-link=%q][data-status="replaced"]')`, firstID))
		// Then it offers to send the invoice again, with the new link.
		until(t, ctx, "the offer to send again", `document.querySelector('dialog[open] h2')?.textContent === 'Envoyer la facture à nouveau?'`)
		s.shot(t, ctx, "resend-offer")
		do(t, ctx, "accept the offer", chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
		until(t, ctx, "the e-mail form", `document.querySelector('dialog[open] h2')?.textContent === 'Envoyer la facture par courriel'`)
		if !eval[bool](t, ctx, `document.querySelector('dialog[open] input[type="checkbox"]').checked`) {
			t.Fatal("the e-mail offered after a new link does not carry it")
		}
		s.shot(t, ctx, "email-form")
		do(t, ctx, "send the e-mail", chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
		until(t, ctx, "the e-mail listed", `document.querySelectorAll('table.emails tbody tr').length === 1 && !document.querySelector('dialog[open]')`)
		s.shot(t, ctx, "email-sent")

		do(t, ctx, "open the mailbox", chromedp.Click(chromedp.CSS(`[data-nav="mailbox"]`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-message] a`)))
		if got := text(t, ctx, `tr[data-message] td`); got != "marie.tremblay@example.com" {
			t.Fatalf("the mailbox's e-mail went to %q", got)
		}
		s.shot(t, ctx, "mailbox")
		do(t, ctx, "open the e-mail", chromedp.Click(chromedp.CSS(`tr[data-message] a`)), chromedp.WaitVisible(chromedp.CSS(`iframe.mail`)))
		until(t, ctx, "the e-mail's HTML", `!!document.querySelector('iframe.mail').contentDocument?.querySelector('a[href*="/pay/"]')`)
		if href := eval[string](t, ctx, `document.querySelector('iframe.mail').contentDocument.querySelector('a[href*="/pay/"]').href`); href != second {
			t.Fatalf("Pay Invoice leads to %q, want the new link %q", href, second)
		}
		s.shot(t, ctx, "email-as-the-patient-sees-it")

		// Pay Invoice opens the local checkout in a new tab, as a mail
		// reader would.
		tabs := chromedp.WaitNewTarget(ctx, func(i *target.Info) bool { return strings.Contains(i.URL, "/pay/") })
		frame, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("iframe.mail")))
		if err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "click Pay Invoice", chromedp.Click(chromedp.CSS(`a[href*="/pay/"]`), chromedp.FromNode(frame[0])))
		var pay context.Context
		select {
		case id := <-tabs:
			pay = newTab(t, ctx, chromedp.WithTargetID(id))
		case <-time.After(stepGuard):
			t.Fatal("Pay Invoice opened no tab")
		}
		do(t, pay, "the checkout page", chromedp.WaitVisible(chromedp.CSS(`[data-testid="pay-card"]`)))
		if got := text(t, pay, "h1") + " " + text(t, pay, `[data-testid="amount"]`) + " " + text(t, pay, ".clinic"); !strings.Contains(got, "Facture F-2026-0042") ||
			!strings.Contains(got, "125,00") || !strings.Contains(got, "Clinique Saint-Louis") {
			t.Fatalf("the checkout shows %q", got)
		}
		s.shot(t, pay, "checkout")
		do(t, pay, "pay by card", chromedp.Click(chromedp.CSS(`[data-testid="pay-card"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="paid"]`)))
		s.shot(t, pay, "checkout-paid")
		// The link is used: opened again, its inactive message says it was paid.
		do(t, pay, "the used link", chromedp.Navigate(second), chromedp.WaitVisible(chromedp.CSS(`[data-testid="inactive"]`)))
		if got := text(t, pay, `[data-testid="inactive"]`); !strings.Contains(got, "Facture payée, merci.") {
			t.Fatalf("a used link says %q", got)
		}

		do(t, ctx, "back to the invoice", chromedp.Navigate(d.console+"/#/invoices/F-2026-0042"), chromedp.WaitVisible(chromedp.CSS(`.badge`)))
		until(t, ctx, "the invoice paid", `document.querySelector('h1 + .badge, .titlebar .badge')?.dataset.status === 'paid'`)
		if got := text(t, ctx, `[data-testid="balance"]`); !strings.HasPrefix(got, "0,00") {
			t.Fatalf("balance %q after paying", got)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('article.payment[data-status="succeeded"]').length`); n != 1 {
			t.Fatalf("%d payments listed", n)
		}
		// The receipt went to the patient, and SES's events (make dev's
		// relay) say it was delivered.
		for deadline := time.Now().Add(stepGuard); ; time.Sleep(300 * time.Millisecond) {
			do(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`.titlebar .badge`)))
			if eval[bool](t, ctx, `!!document.querySelector('tr[data-email-kind="receipt"][data-email-status="delivered"]')`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the receipt is not listed as delivered")
			}
		}
		s.shot(t, ctx, "invoice-paid")
	})

	ok = ok && t.Run("in English: pre-authorized debit, then a partial refund", func(t *testing.T) {
		do(t, ctx, "switch to English", chromedp.Navigate(d.console+"/#/invoices"), chromedp.WaitVisible(chromedp.CSS(`[data-lang="en"]`)),
			chromedp.Click(chromedp.CSS(`[data-lang="en"]`)))
		until(t, ctx, "English", `document.documentElement.lang === 'en' && document.querySelector('h1')?.textContent === 'Invoices'`)
		s.shot(t, ctx, "invoice-list-english")
		// Amounts as people type them and as the console writes them (a
		// refund's pre-filled amount is money()'s text): grouped or not, in
		// either language's way; integer cents or nothing.
		parsed := eval[string](t, ctx, `import('/assets/i18n.js').then((m) => JSON.stringify([
			'1,234.56', '1 234,56', '1\u202f234,56 $', '$1,234.56', '1.234,56', '125,5', '125', '1,234',
			'12,34,5', 'abc', '1234567890', '125.555', m.money(123456, 'cad'),
		].map(m.parseMoney)))`)
		if want := `[123456,123456,123456,123456,123456,12550,12500,123400,null,null,null,null,123456]`; parsed != want {
			t.Fatalf("parseMoney: %s, want %s", parsed, want)
		}
		do(t, ctx, "open the second invoice", chromedp.Click(chromedp.CSS(`tr[data-invoice="F-2026-0043"] a`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-action="add"]`)),
			chromedp.Click(chromedp.CSS(`[data-action="add"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="link-url"]`)))
		link := eval[string](t, ctx, `document.querySelector('[data-testid="link-url"]').value`)

		pay := newTab(t, ctx)
		do(t, pay, "the checkout page", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`[data-testid="pay-pad"]`)))
		if got := text(t, pay, "h1") + " " + text(t, pay, `[data-testid="amount"]`); !strings.Contains(got, "Invoice F-2026-0043") || !strings.Contains(got, "$180.00") {
			t.Fatalf("the English patient's checkout shows %q", got)
		}
		do(t, pay, "pay by pre-authorized debit", chromedp.Click(chromedp.CSS(`[data-testid="pay-pad"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="processing"]`)))
		s.shot(t, pay, "checkout-debit-processing")

		do(t, ctx, "the invoice processing", chromedp.Reload())
		until(t, ctx, "processing", `document.querySelector('.titlebar .badge')?.dataset.status === 'processing'`)
		s.shot(t, ctx, "invoice-processing")

		do(t, pay, "the debit clears", chromedp.Click(chromedp.CSS(`[data-testid="debit-succeeds"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="paid"]`)))
		do(t, ctx, "reload", chromedp.Reload())
		until(t, ctx, "paid", `document.querySelector('.titlebar .badge')?.dataset.status === 'paid'`)
		s.shot(t, ctx, "invoice-paid-by-debit")

		do(t, ctx, "open the refund form", chromedp.Click(chromedp.CSS(`article.payment [data-action^="refund-"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open] input`)))
		do(t, ctx, "refund $50.00", chromedp.SetValue(chromedp.CSS(`dialog[open] input`), "50.00"))
		s.shot(t, ctx, "refund-form")
		do(t, ctx, "refund", chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
		until(t, ctx, "partially refunded", `document.querySelector('.titlebar .badge')?.dataset.status === 'partially_refunded'`)
		if got := text(t, ctx, `article.payment [data-testid="refunded"]`); got != "$50.00" {
			t.Fatalf("refunded %q", got)
		}
		if got := text(t, ctx, `[data-testid="balance"]`); got != "$0.00" {
			t.Fatalf("a refund reopened the balance: %q", got)
		}
		s.shot(t, ctx, "invoice-partially-refunded")

		do(t, ctx, "the clinic's settings", chromedp.Navigate(d.console+"/#/settings"), chromedp.WaitVisible(chromedp.CSS(`#set-receipts`)))
		if got := eval[bool](t, ctx, `document.querySelector('#set-receipts').checked && !document.querySelector('#set-pdf').checked`); !got {
			t.Fatal("a new clinic sends receipts and attaches no PDF")
		}
		s.shot(t, ctx, "clinic-settings")
	})

	ok = ok && t.Run("the invoice window by keyboard alone", func(t *testing.T) {
		do(t, ctx, "open the third invoice", chromedp.Navigate(d.console+"/#/invoices/F-2026-0044"), chromedp.WaitVisible(chromedp.CSS(`[data-action="add"]`)))
		until(t, ctx, "the title focused", `document.activeElement?.tagName === 'H1'`)
		// Tab from the title to each button of the window, in the order
		// they appear, and press it with Enter.
		tabTo := func(action string) []string {
			t.Helper()
			var path []string
			for range 30 {
				do(t, ctx, "Tab", chromedp.KeyEvent(kb.Tab))
				got := eval[string](t, ctx, `(() => { const e = document.activeElement; return (e.dataset.action || e.tagName + ':' + (e.textContent || e.value || '').trim().slice(0, 20)); })()`)
				path = append(path, got)
				if got == action {
					if outline := eval[string](t, ctx, `getComputedStyle(document.activeElement).outlineStyle`); outline == "none" {
						t.Fatalf("%s has focus but shows none", action)
					}
					return path
				}
			}
			t.Fatalf("Tab never reached %s: %v", action, path)
			return nil
		}
		t.Logf("Tab order to the first button: %v", tabTo("add"))
		do(t, ctx, "Enter on Add a payment link", chromedp.KeyEvent(kb.Enter))
		until(t, ctx, "a link", `!!document.querySelector('[data-testid="link-url"]') && document.activeElement?.dataset.action === 'regenerate' || document.activeElement?.tagName === 'H1'`)
		first := eval[string](t, ctx, `document.querySelector('[data-testid="link-url"]').value`)
		do(t, ctx, "focus the title again", chromedp.Focus(chromedp.CSS("h1")))
		tabTo("regenerate")
		// The confirmation takes the focus; Enter confirms, Escape turns
		// down the offer to send the invoice again.
		do(t, ctx, "Enter on Generate new link", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
		do(t, ctx, "Enter confirms", chromedp.KeyEvent(kb.Enter))
		until(t, ctx, "a new link and the offer", fmt.Sprintf(`document.querySelector('[data-testid="link-url"]')?.value !== %q && !!document.querySelector('dialog[open]')`, first))
		do(t, ctx, "Escape declines the offer", chromedp.KeyEvent(kb.Escape))
		until(t, ctx, "no dialog", `!document.querySelector('dialog[open]')`)
		do(t, ctx, "focus the title again", chromedp.Focus(chromedp.CSS("h1")))
		tabTo("remove")
		do(t, ctx, "Enter on Remove link", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
		do(t, ctx, "Enter confirms", chromedp.KeyEvent(kb.Enter))
		until(t, ctx, "no link and the offer", `!document.querySelector('[data-testid="link-url"]') && !!document.querySelector('[data-action="add"]') && !!document.querySelector('dialog[open]')`)
		do(t, ctx, "Escape declines the offer", chromedp.KeyEvent(kb.Escape))
		until(t, ctx, "no dialog", `!document.querySelector('dialog[open]')`)
		do(t, ctx, "focus the title again", chromedp.Focus(chromedp.CSS("h1")))
		tabTo("send")
		do(t, ctx, "Enter on Send by e-mail", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
		if got := eval[string](t, ctx, `document.activeElement.closest('dialog') ? 'in' : 'out'`); got != "in" {
			t.Fatal("the e-mail form opened without focus in it")
		}
		do(t, ctx, "Escape closes it", chromedp.KeyEvent(kb.Escape))
		until(t, ctx, "focus back on the button", `!document.querySelector('dialog[open]') && document.activeElement?.dataset.action === 'send'`)
		s.shot(t, ctx, "keyboard-focus")
	})

	ok = ok && t.Run("in French: errors on their fields, confirmations, Back", func(t *testing.T) {
		frenchErrorsConfirmationsBack(t, ctx, s, d.console)
	})

	ok = ok && t.Run("readers: the clinic's address, register, list, delete", func(t *testing.T) {
		consoleReaders(t, ctx, s, d.console)
	})

	ok = ok && t.Run("pay at the desk: a simulated reader takes the approve card", func(t *testing.T) {
		consoleDeskPayment(t, ctx, s, d.console, d.api, d.vars["TOKEN"])
	})

	ok = ok && t.Run("refund at the desk: an Interac payment refunded on the reader", func(t *testing.T) {
		consoleDeskRefund(t, ctx, s, d.console, d.api, d.vars["TOKEN"])
	})

	_ = ok && t.Run("a page on another origin calls the API", func(t *testing.T) {
		tab := newTab(t, ctx)
		// A PUT with If-Match, an Idempotency-Key and JSON is preflighted;
		// the answer's ETag must be readable.
		call := fmt.Sprintf(`(async () => {
			const h = {Authorization: 'Bearer %s'};
			const inv = await fetch('%s/invoices/F-2026-0044', {headers: h});
			const etag = inv.headers.get('ETag');
			const body = await inv.json();
			const put = await fetch('%s/invoices/F-2026-0044', {method: 'PUT', headers: {...h, 'Content-Type': 'application/json',
				'If-Match': etag, 'Idempotency-Key': crypto.randomUUID()}, body: JSON.stringify({number: body.number, currency: body.currency,
				total: body.total, balanceDue: body.balanceDue, issuedOn: body.issuedOn, dueOn: '2027-01-15', patient: {name: body.patient.name, email: body.patient.email, language: body.patient.language},
				lines: body.lines})});
			return [inv.status, etag, put.status, put.headers.get('ETag')].join(' ');
		})()`, d.vars["TOKEN"], d.api, d.api)
		do(t, tab, "open the other origin", chromedp.Navigate(other.URL))
		got := eval[string](t, tab, call)
		f := strings.Fields(got)
		if len(f) != 4 || f[0] != "200" || !strings.HasPrefix(f[1], `"v`) || f[2] != "200" || f[3] == f[1] || !strings.HasPrefix(f[3], `"v`) {
			t.Fatalf("from an allowed origin: %q (GET status, its ETag, PUT status, the new ETag)", got)
		}
		do(t, tab, "open an origin not allowed", chromedp.Navigate(stranger.URL))
		if got := eval[string](t, tab, call+`.catch(e => 'blocked: ' + e.name)`); got != "blocked: TypeError" {
			t.Fatalf("from an origin not allowed: %q", got)
		}
	})
	d.stop(t)
}

// frenchErrorsConfirmationsBack: the clinic's settings show every field's
// problem at once, in French, under its field (the console's own checks,
// then the API's, placed by its field); removing a link that an e-mail
// carried asks first, says so, and offers to send the invoice again; the
// browser's Back closes a dialog.
func frenchErrorsConfirmationsBack(t *testing.T, ctx context.Context, s *shooter, console string) {
	errorOf := func(sel string) string {
		return eval[string](t, ctx, fmt.Sprintf(`(() => { const c = document.querySelector(%q); const p = document.getElementById(c.dataset.error); return p.hidden ? '' : p.textContent; })()`, sel))
	}
	do(t, ctx, "the settings, in French", chromedp.Navigate(console+"/#/settings"), chromedp.WaitVisible(chromedp.CSS(`[data-lang="fr"]`)),
		chromedp.Click(chromedp.CSS(`[data-lang="fr"]`)))
	until(t, ctx, "French", `document.documentElement.lang === 'fr' && document.querySelector('h1')?.textContent === 'La clinique'`)
	inputs := `document.querySelectorAll('form.settings input:not([type="checkbox"])')`
	do(t, ctx, "two wrong fields", chromedp.SetValue(chromedp.JSPath(inputs+`[1]`), "facturation@"),
		chromedp.SetValue(chromedp.JSPath(inputs+`[2]`), "3, 45"), chromedp.Click(chromedp.CSS(`[data-action="save"]`)))
	until(t, ctx, "both errors", fmt.Sprintf(`%s[1].getAttribute('aria-invalid') === 'true' && %s[2].getAttribute('aria-invalid') === 'true'`, inputs, inputs))
	reply, before := errorOf(`form.settings input[type="email"]`), eval[string](t, ctx, fmt.Sprintf(`(() => { const c = %s[2]; return document.getElementById(c.dataset.error).textContent; })()`, inputs))
	if !strings.Contains(reply, "adresse courriel complète") || !strings.Contains(before, "de 1 à 30") {
		t.Fatalf("the errors under the fields: %q and %q", reply, before)
	}
	s.shot(t, ctx, "settings-errors-in-french")
	// A name the console lets through and the API refuses (over 200
	// characters): the API's field puts the French wording under it.
	do(t, ctx, "a name too long", chromedp.SetValue(chromedp.JSPath(inputs+`[0]`), strings.Repeat("Clinique ", 30)),
		chromedp.SetValue(chromedp.JSPath(inputs+`[1]`), "facturation@clinique.example"),
		chromedp.SetValue(chromedp.JSPath(inputs+`[2]`), "3"), chromedp.Click(chromedp.CSS(`[data-action="save"]`)))
	until(t, ctx, "the API's error on the name", inputs+`[0].getAttribute('aria-invalid') === 'true'`)
	if got := eval[string](t, ctx, fmt.Sprintf(`(() => { const c = %s[0]; return document.getElementById(c.dataset.error).textContent; })()`, inputs)); got != "Le nom doit compter de 1 à 200 caractères, sans @, < ni >." {
		t.Fatalf("the API's error placed under the name: %q", got)
	}
	if got := text(t, ctx, "#toast"); strings.Contains(got, "invalid_request") || strings.Contains(got, "must") {
		t.Fatalf("the API's English reached staff: %q", got)
	}
	s.shot(t, ctx, "settings-api-error-placed")

	// A link, an e-mail with it, then Remove link.
	do(t, ctx, "the third invoice", chromedp.Navigate(console+"/#/invoices"), chromedp.WaitVisible(chromedp.CSS(`tr[data-invoice="F-2026-0044"] a`)),
		chromedp.Click(chromedp.CSS(`tr[data-invoice="F-2026-0044"] a`)), chromedp.WaitVisible(chromedp.CSS(`[data-action="add"]`)),
		chromedp.Click(chromedp.CSS(`[data-action="add"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="link-url"]`)),
		chromedp.Click(chromedp.CSS(`[data-action="send"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
	do(t, ctx, "an e-mail address the console refuses", chromedp.SetValue(chromedp.CSS(`dialog[open] input[type="email"]`), "patient.example.com"),
		chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	until(t, ctx, "its error under it", `document.querySelector('dialog[open] input[type="email"]').getAttribute('aria-invalid') === 'true'`)
	if got := errorOf(`dialog[open] input[type="email"]`); !strings.Contains(got, "adresse courriel complète") {
		t.Fatalf("the e-mail field's error: %q", got)
	}
	do(t, ctx, "send it", chromedp.SetValue(chromedp.CSS(`dialog[open] input[type="email"]`), "patient@example.com"),
		chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	until(t, ctx, "the e-mail listed", `!document.querySelector('dialog[open]') && !!document.querySelector('table.emails tbody tr td code')`)
	do(t, ctx, "remove the link", chromedp.Click(chromedp.CSS(`[data-action="remove"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
	if got := text(t, ctx, `dialog[open] [data-testid="confirm-emails"]`); !strings.Contains(got, "1 courriel") {
		t.Fatalf("the confirmation says %q of the e-mail sent", got)
	}
	if !strings.HasPrefix(text(t, ctx, `dialog[open] [data-testid="dialog-about"]`), "Facture F-2026-0044 — ") {
		t.Fatal("the confirmation does not name its invoice")
	}
	s.shot(t, ctx, "confirm-remove")
	do(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	until(t, ctx, "the offer to send again", `!document.querySelector('[data-testid="link-url"]') && document.querySelector('dialog[open] h2')?.textContent === 'Envoyer la facture à nouveau?'`)
	s.shot(t, ctx, "resend-offer-after-remove")
	do(t, ctx, "later", chromedp.Click(chromedp.CSS(`dialog[open] .actions button[type="button"]`)))
	until(t, ctx, "no dialog", `!document.querySelector('dialog[open]')`)

	// The send dialog, then Back: the dialog goes with its invoice.
	do(t, ctx, "open the e-mail form", chromedp.Click(chromedp.CSS(`[data-action="send"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
	eval[bool](t, ctx, `(history.back(), true)`) // what the browser's Back button does
	until(t, ctx, "the list, no dialog", `!document.querySelector('dialog[open]') && document.querySelector('h1')?.textContent === 'Factures'`)
	s.shot(t, ctx, "back-closed-the-dialog")
}

// consoleReaders: the Readers page asks for the clinic's address first;
// given on the clinic's page, a simulated reader registers, is listed
// online and free, and a second one is deleted after a confirmation.
func consoleReaders(t *testing.T, ctx context.Context, s *shooter, console string) {
	do(t, ctx, "the Readers page", chromedp.Navigate(console+"/#/readers"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="address-needed"]`)))
	if got := text(t, ctx, "h1"); got != "Lecteurs de carte" {
		t.Fatalf("the Readers page is %q", got)
	}
	do(t, ctx, "the clinic's address", chromedp.Click(chromedp.CSS(`[data-testid="address-needed"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="address.line1"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="address.line1"]`), "1000 rue Sherbrooke Ouest"),
		chromedp.SetValue(chromedp.CSS(`input[name="address.city"]`), "Montréal"),
		chromedp.SetValue(chromedp.CSS(`input[name="address.postalCode"]`), "M5V 2T6"), // Toronto's: refused for QC
		chromedp.Click(chromedp.CSS(`[data-action="save"]`)))
	until(t, ctx, "the postal code refused under its field", `document.querySelector('input[name="address.postalCode"]').getAttribute('aria-invalid') === 'true'`)
	do(t, ctx, "a Montreal postal code", chromedp.SetValue(chromedp.CSS(`input[name="address.postalCode"]`), "h3a 3g4"),
		chromedp.Click(chromedp.CSS(`[data-action="save"]`)))
	until(t, ctx, "the address saved, as Stripe will show it", `document.querySelector('input[name="address.postalCode"]')?.value === 'H3A 3G4'`)
	s.shot(t, ctx, "clinic-address")

	do(t, ctx, "back to the Readers page", chromedp.Click(chromedp.CSS(`[data-nav="readers"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-action="register"]`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid="address-needed"]').length`); n != 0 {
		t.Fatal("the address is still asked for")
	}
	do(t, ctx, "register a simulated reader", chromedp.Click(chromedp.CSS(`[data-action="register"]`)))
	until(t, ctx, "the reader listed, online", `document.querySelectorAll('tr[data-reader][data-status="online"]').length === 1`)
	do(t, ctx, "a second one", chromedp.SetValue(chromedp.CSS(`input[name="label"]`), "Salle 2"), chromedp.Click(chromedp.CSS(`[data-action="register"]`)))
	until(t, ctx, "two readers", `document.querySelectorAll('tr[data-reader]').length === 2`)
	if got := text(t, ctx, `tr[data-reader] th`) + " / " + text(t, ctx, `tr[data-reader] td`); got != "Comptoir / En ligne" {
		t.Fatalf("the first reader shows %q", got)
	}
	if got := text(t, ctx, "main"); strings.Contains(got, "false") || strings.Contains(got, "null") {
		t.Fatalf("the page shows a bare value: %q", got)
	}
	s.shot(t, ctx, "readers")

	do(t, ctx, "delete the second", chromedp.Click(chromedp.JSPath(`document.querySelectorAll('tr[data-reader] [data-action^="delete-"]')[1]`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
	if got := text(t, ctx, `dialog[open] [data-testid="dialog-about"]`); got != "Salle 2" {
		t.Fatalf("the confirmation is about %q", got)
	}
	do(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	until(t, ctx, "one reader left", `document.querySelectorAll('tr[data-reader]').length === 1 && !document.querySelector('dialog[open]')`)
}

// consoleDeskPayment: an invoice is paid at the desk on the reader
// registered above. The dialog shows the balance, the reader waits for the
// card; Stripe's decline test card is worded, the payment is sent again,
// the approve card is presented and the live status turns to paid on its
// own (the console polls the invoice); the payment is then listed as made
// in person, by card, with its last four digits.
func consoleDeskPayment(t *testing.T, ctx context.Context, s *shooter, console, api, token string) {
	put := fmt.Sprintf(`fetch('%s/invoices/F-2026-0045', {method: 'PUT', headers: {Authorization: 'Bearer %s', 'Content-Type': 'application/json',
		'Idempotency-Key': crypto.randomUUID()}, body: JSON.stringify({number: 'F-2026-0045', currency: 'cad', total: 9500, balanceDue: 9500,
		issuedOn: new Date().toISOString().slice(0, 10), patient: {name: 'Luc Bergeron', email: 'luc@example.com', language: 'fr'},
		lines: [{description: 'Physiothérapie', amount: 9500}]})}).then(r => r.status)`, api, token)
	if got := eval[int](t, ctx, put); got != 201 && got != 200 {
		t.Fatalf("storing the invoice: %d", got)
	}
	do(t, ctx, "the invoice", chromedp.Navigate(console+"/#/invoices/F-2026-0045"), chromedp.WaitVisible(chromedp.CSS(`[data-action="pay-desk"]`)),
		chromedp.Click(chromedp.CSS(`[data-action="pay-desk"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open] select[name="readerId"]`)))
	if got := text(t, ctx, `dialog[open] [data-testid="desk-amount"]`); got != "95,00\u00a0$" {
		t.Fatalf("the amount to pay shows %q", got)
	}
	if got := text(t, ctx, `dialog[open] select[name="readerId"] option`); got != "Comptoir" {
		t.Fatalf("the reader offered is %q", got)
	}
	do(t, ctx, "send it to the reader", chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	until(t, ctx, "the reader waiting for the card", `document.querySelector('dialog[open] [data-testid="desk-status"]')?.dataset.status === 'waiting_for_card'`)
	if got := eval[string](t, ctx, `document.activeElement?.dataset.action ?? ''`); got != "card-approve" {
		t.Fatalf("the focus is on %q, not on the first test card", got)
	}
	s.shot(t, ctx, "pay-at-desk-waiting")
	// A declined card first: its reason worded, then the desk payment sent
	// again (the same PaymentIntent, at the service's side).
	do(t, ctx, "present the decline card", chromedp.Click(chromedp.CSS(`dialog[open] [data-action="card-decline"]`)))
	until(t, ctx, "declined", `document.querySelector('dialog[open] [data-testid="desk-status"]')?.dataset.status === 'declined'`)
	if got := text(t, ctx, `dialog[open] [data-testid="desk-reason"]`); !strings.HasPrefix(got, "La carte a été refusée") {
		t.Fatalf("the decline's reason says %q", got)
	}
	if got := eval[string](t, ctx, `document.activeElement?.dataset.action ?? ''`); got != "desk-close" {
		t.Fatalf("after the decline the focus is on %q", got)
	}
	s.shot(t, ctx, "pay-at-desk-declined")
	do(t, ctx, "close, then pay at the desk again", chromedp.Click(chromedp.CSS(`dialog[open] [data-action="desk-close"]`)))
	until(t, ctx, "the decline shown in the window", `!document.querySelector('dialog[open]') && document.querySelector('[data-testid="desk-last"]')?.dataset.status === 'declined'`)
	do(t, ctx, "pay at the desk again", chromedp.Click(chromedp.CSS(`[data-action="pay-desk"]`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog[open] select[name="readerId"]`)), chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	until(t, ctx, "waiting again", `document.querySelector('dialog[open] [data-testid="desk-status"]')?.dataset.status === 'waiting_for_card'`)
	do(t, ctx, "present the approve card", chromedp.Click(chromedp.CSS(`dialog[open] [data-action="card-approve"]`)))
	until(t, ctx, "paid, on its own", `document.querySelector('dialog[open] [data-testid="desk-status"]')?.dataset.status === 'succeeded'`)
	if got := text(t, ctx, `dialog[open] [data-testid="desk-status"]`); got != "Payé." {
		t.Fatalf("the status says %q", got)
	}
	s.shot(t, ctx, "pay-at-desk-paid")
	do(t, ctx, "close", chromedp.Click(chromedp.CSS(`dialog[open] [data-action="desk-close"]`)))
	until(t, ctx, "the invoice paid, the payment listed", `!document.querySelector('dialog[open]') && document.querySelector('.titlebar .badge')?.dataset.status === 'paid' && !!document.querySelector('[data-testid="method"]')`)
	if got := text(t, ctx, `[data-testid="channel"]`) + " / " + text(t, ctx, `[data-testid="method"]`); got != "Au comptoir / Carte Visa •••• 4242" {
		t.Fatalf("the payment shows %q", got)
	}
	s.shot(t, ctx, "paid-at-desk")
}

// consoleDeskRefund: an invoice paid by Interac at the desk is refunded
// in part on the reader (Stripe refunds Interac only there): the dialog
// offers the free reader and what is left, the reader waits for the card,
// the Interac card presented again turns the live status to refunded on
// its own, and the payment then shows the refund.
func consoleDeskRefund(t *testing.T, ctx context.Context, s *shooter, console, api, token string) {
	put := fmt.Sprintf(`fetch('%s/invoices/F-2026-0046', {method: 'PUT', headers: {Authorization: 'Bearer %s', 'Content-Type': 'application/json',
		'Idempotency-Key': crypto.randomUUID()}, body: JSON.stringify({number: 'F-2026-0046', currency: 'cad', total: 8000, balanceDue: 8000,
		issuedOn: new Date().toISOString().slice(0, 10), patient: {name: 'Julie Roy', email: 'julie@example.com', language: 'fr'},
		lines: [{description: 'Ostéopathie', amount: 8000}]})}).then(r => r.status)`, api, token)
	if got := eval[int](t, ctx, put); got != 201 && got != 200 {
		t.Fatalf("storing the invoice: %d", got)
	}
	// The window still shows the invoice paid before (its button disabled)
	// until the new one is read: wait for this one's.
	do(t, ctx, "open the invoice", chromedp.Navigate(console+"/#/invoices/F-2026-0046"))
	until(t, ctx, "the invoice's own window", `document.body.innerText.includes('F-2026-0046') && document.querySelector('[data-action="pay-desk"]')?.disabled === false`)
	do(t, ctx, "pay it at the desk", chromedp.Click(chromedp.CSS(`[data-action="pay-desk"]`)))
	do(t, ctx, "pick the reader", chromedp.WaitVisible(chromedp.CSS(`dialog[open] select[name="readerId"]`)),
		chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	until(t, ctx, "the reader waiting", `document.querySelector('dialog[open] [data-testid="desk-status"]')?.dataset.status === 'waiting_for_card'`)
	do(t, ctx, "present the Interac card", chromedp.Click(chromedp.CSS(`dialog[open] [data-action="card-interac"]`)))
	until(t, ctx, "paid by Interac", `document.querySelector('dialog[open] [data-testid="desk-status"]')?.dataset.status === 'succeeded'`)
	do(t, ctx, "close", chromedp.Click(chromedp.CSS(`dialog[open] [data-action="desk-close"]`)))
	until(t, ctx, "the refund button", `!document.querySelector('dialog[open]') && !!document.querySelector('[data-action^="refund-desk-"]')`)
	do(t, ctx, "refund at the desk", chromedp.Click(chromedp.CSS(`[data-action^="refund-desk-"]`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog[open] select[name="readerId"]`)))
	if got := eval[string](t, ctx, `document.querySelector('dialog[open] input[name="amount"]').value`); got != "80,00" {
		t.Fatalf("the amount offered is %q, not what is left", got)
	}
	do(t, ctx, "ask 30,00 of the reader", chromedp.SetValue(chromedp.CSS(`dialog[open] input[name="amount"]`), "30,00"))
	s.shot(t, ctx, "refund-at-desk-form")
	do(t, ctx, "send it", chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
	until(t, ctx, "the reader waiting for the card", `document.querySelector('dialog[open] [data-testid="desk-refund-status"]')?.dataset.status === 'waiting_for_card'`)
	if got := text(t, ctx, `dialog[open] [data-testid="desk-refund-amount"]`); got != "30,00\u00a0$" {
		t.Fatalf("the refund's amount shows %q", got)
	}
	s.shot(t, ctx, "refund-at-desk-waiting")
	do(t, ctx, "present the card again", chromedp.Click(chromedp.CSS(`dialog[open] [data-action="refund-card"]`)))
	until(t, ctx, "refunded, on its own", `document.querySelector('dialog[open] [data-testid="desk-refund-status"]')?.dataset.status === 'succeeded'`)
	if got := text(t, ctx, `dialog[open] [data-testid="desk-refund-status"]`); got != "Remboursé." {
		t.Fatalf("the status says %q", got)
	}
	s.shot(t, ctx, "refund-at-desk-done")
	do(t, ctx, "close", chromedp.Click(chromedp.CSS(`dialog[open] [data-action="desk-refund-close"]`)))
	until(t, ctx, "the refund on the payment", `!document.querySelector('dialog[open]') && document.querySelector('[data-testid="desk-refund-last"]')?.dataset.status === 'succeeded'`)
	if got := text(t, ctx, `[data-testid="refunded"]`); got != "30,00\u00a0$" {
		t.Fatalf("the payment shows %q refunded", got)
	}
	s.shot(t, ctx, "refunded-at-desk")
}
