package billing

import "strings"

// The e-mail is specified by templates/invoice.html.tmpl and
// templates/invoice.txt.tmpl. Executing them with html/template would make
// every Lambda that sends e-mail 3 to 5 MB bigger (and slower to start):
// template execution looks methods up by name through reflection, which
// stops the Go linker from dropping unused methods anywhere in the binary.
// So the templates are rendered here by hand, with html/template's own
// escaping rules, and TestRenderersMatchTemplates / FuzzRenderersMatchTemplates
// execute the real templates and require byte-identical output for any
// input: the templates stay the specification and html/template's escaping
// the behaviour.

// renderHTML writes the HTML part exactly as templates/invoice.html.tmpl
// executed by html/template would.
func renderHTML(v *emailView) string {
	var w htmlWriter
	w.raw("<!DOCTYPE html>\n<html lang=\"")
	w.esc(string(v.Lang))
	w.raw("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
	w.esc(v.Subject)
	w.raw("</title>\n</head>\n<body style=\"margin:0;padding:0;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#1f2933;\">\n" +
		"<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f4f5f7;\">\n" +
		"<tr><td align=\"center\" style=\"padding:24px 12px;\">\n" +
		"<table role=\"presentation\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\" style=\"max-width:600px;width:100%;background:#ffffff;border-radius:6px;\">\n" +
		"<tr><td style=\"padding:24px 28px 8px 28px;font-size:20px;font-weight:bold;\">")
	w.esc(v.Clinic)
	w.raw("</td></tr>\n<tr><td style=\"padding:8px 28px;font-size:15px;line-height:1.5;\">\n<p style=\"margin:0 0 12px 0;\">")
	w.esc(v.T.Greeting)
	w.raw(" ")
	w.esc(v.PatientName)
	w.raw(",</p>\n<p style=\"margin:0 0 12px 0;\">")
	w.esc(v.T.Intro)
	w.raw("</p>\n</td></tr>\n<tr><td style=\"padding:8px 28px;\">\n" +
		"<table role=\"presentation\" width=\"100%\" cellpadding=\"4\" cellspacing=\"0\" style=\"font-size:14px;border-collapse:collapse;\">\n" +
		"<tr><td style=\"color:#52606d;\">")
	w.esc(v.T.InvoiceNumber)
	w.raw("</td><td align=\"right\">")
	w.esc(v.Number)
	w.raw("</td></tr>\n<tr><td style=\"color:#52606d;\">")
	w.esc(v.T.IssuedOn)
	w.raw("</td><td align=\"right\">")
	w.esc(v.IssuedOn)
	w.raw("</td></tr>")
	if v.DueOn != "" {
		w.raw("\n<tr><td style=\"color:#52606d;\">")
		w.esc(v.T.DueOn)
		w.raw("</td><td align=\"right\">")
		w.esc(v.DueOn)
		w.raw("</td></tr>")
	}
	w.raw("\n</table>\n</td></tr>\n<tr><td style=\"padding:8px 28px;\">\n" +
		"<table role=\"presentation\" width=\"100%\" cellpadding=\"6\" cellspacing=\"0\" style=\"font-size:14px;border-collapse:collapse;\">\n" +
		"<tr style=\"border-bottom:1px solid #d9dee3;\"><th align=\"left\">")
	w.esc(v.T.Description)
	w.raw("</th><th align=\"right\">")
	w.esc(v.T.Amount)
	w.raw("</th></tr>")
	for _, l := range v.Lines {
		w.raw("\n<tr style=\"border-bottom:1px solid #eef1f4;\"><td>")
		w.esc(l.Description)
		w.raw("</td><td align=\"right\" style=\"white-space:nowrap;\">")
		w.esc(l.Amount)
		w.raw("</td></tr>")
	}
	w.raw("\n<tr><td align=\"right\"><strong>")
	w.esc(v.T.Total)
	w.raw("</strong></td><td align=\"right\" style=\"white-space:nowrap;\"><strong>")
	w.esc(v.Total)
	w.raw("</strong></td></tr>\n<tr><td align=\"right\"><strong>")
	w.esc(v.T.BalanceDue)
	w.raw("</strong></td><td align=\"right\" style=\"white-space:nowrap;\"><strong>")
	w.esc(v.BalanceDue)
	w.raw("</strong></td></tr>\n</table>\n</td></tr>")
	if len(v.NoteLines) > 0 {
		w.raw("\n<tr><td style=\"padding:8px 28px;font-size:14px;line-height:1.5;\">\n<p style=\"margin:0 0 4px 0;color:#52606d;\">")
		w.esc(v.T.NoteHeading)
		w.raw("</p>\n<p style=\"margin:0;padding:8px 12px;background:#f4f5f7;border-radius:4px;\">")
		for i, l := range v.NoteLines {
			if i > 0 {
				w.raw("<br>")
			}
			w.esc(l)
		}
		w.raw("</p>\n</td></tr>")
	}
	w.raw("\n<tr><td style=\"padding:8px 28px;font-size:13px;color:#52606d;\">")
	w.esc(v.T.Questions)
	w.raw(" <a href=\"mailto:")
	w.urlPart(v.ReplyTo)
	w.raw("\" style=\"color:#1d4ed8;\">")
	w.esc(v.ReplyTo)
	w.raw("</a></td></tr>")
	if v.PayURL != "" {
		w.raw("\n<tr><td style=\"padding:16px 28px 8px 28px;font-size:14px;line-height:1.5;\">")
		w.esc(v.T.PayIntro)
		w.raw("</td></tr>\n<tr><td align=\"center\" style=\"padding:8px 28px 8px 28px;\">\n" +
			"<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\"><tr><td align=\"center\" bgcolor=\"#1d4ed8\" style=\"border-radius:6px;\">\n" +
			"<a href=\"")
		w.url(v.PayURL)
		w.raw("\" target=\"_blank\" style=\"display:inline-block;padding:14px 32px;font-size:16px;font-weight:bold;color:#ffffff;text-decoration:none;border-radius:6px;\" data-role=\"pay-invoice\">")
		w.esc(v.T.PayButton)
		w.raw("</a>\n</td></tr></table>\n</td></tr>\n<tr><td style=\"padding:8px 28px 24px 28px;font-size:12px;color:#52606d;\">")
		w.esc(v.T.PayFallback)
		w.raw("<br><span style=\"word-break:break-all;\">")
		w.esc(v.PayURL)
		w.raw("</span></td></tr>")
	} else {
		w.raw("\n<tr><td style=\"padding:8px 28px 24px 28px;\"></td></tr>")
	}
	w.raw("\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n")
	return w.String()
}

// renderText writes the plain-text part exactly as
// templates/invoice.txt.tmpl executed by text/template would.
func renderText(v *emailView) string {
	var b strings.Builder
	t := v.T
	b.WriteString(v.Clinic + "\n\n" + t.Greeting + " " + v.PatientName + ",\n\n" + t.Intro + "\n\n")
	b.WriteString(t.InvoiceNumber + t.Colon + " " + v.Number + "\n")
	b.WriteString(t.IssuedOn + t.Colon + " " + v.IssuedOn)
	if v.DueOn != "" {
		b.WriteString("\n" + t.DueOn + t.Colon + " " + v.DueOn)
	}
	b.WriteString("\n\n")
	for _, l := range v.Lines {
		b.WriteString("- " + l.Description + t.Colon + " " + l.Amount + "\n")
	}
	b.WriteString("\n" + t.Total + t.Colon + " " + v.Total + "\n")
	b.WriteString(t.BalanceDue + t.Colon + " " + v.BalanceDue)
	if len(v.NoteLines) > 0 {
		b.WriteString("\n\n" + t.NoteHeading + t.Colon + "\n")
		for _, l := range v.NoteLines {
			b.WriteString(l + "\n")
		}
	}
	b.WriteString("\n\n" + t.Questions + " " + v.ReplyTo)
	if v.PayURL != "" {
		b.WriteString("\n\n" + t.PayIntro + "\n\n" + t.PayButton + t.Colon + " " + v.PayURL)
	}
	b.WriteString("\n")
	return b.String()
}

// htmlWriter writes HTML with html/template's escaping.
type htmlWriter struct{ strings.Builder }

func (w *htmlWriter) raw(s string) { w.WriteString(s) }

// esc escapes text for an HTML text node, an RCDATA element (title) or a
// quoted attribute, as html/template's htmlEscaper does.
func (w *htmlWriter) esc(s string) {
	for _, r := range s {
		switch r {
		case 0:
			w.WriteString("\uFFFD")
		case '"':
			w.WriteString("&#34;")
		case '&':
			w.WriteString("&amp;")
		case '\'':
			w.WriteString("&#39;")
		case '+':
			w.WriteString("&#43;")
		case '<':
			w.WriteString("&lt;")
		case '>':
			w.WriteString("&gt;")
		default:
			w.WriteRune(r)
		}
	}
}

// url writes a whole URL into a quoted href, as html/template does: only
// http, https and mailto pass (anything else becomes "#ZgotmplZ"), then the
// URL is normalized and escaped.
func (w *htmlWriter) url(s string) {
	if i := strings.IndexByte(s, ':'); i >= 0 && !strings.ContainsRune(s[:i], '/') {
		switch strings.ToLower(s[:i]) {
		case "http", "https", "mailto":
		default:
			w.WriteString("#ZgotmplZ")
			return
		}
	}
	w.urlPart(s)
}

// urlPart writes text placed in a URL after its scheme, as html/template's
// urlNormalizer then attrEscaper do: bytes that may appear in a URL stay
// (and so do valid %XX escapes), others are percent-encoded.
func (w *htmlWriter) urlPart(s string) {
	var n strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0,
			c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			n.WriteByte(c)
		default:
			n.WriteString("%" + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15]))
		}
	}
	w.esc(n.String())
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
