package devconsole

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/yuin/goldmark"

	"github.com/clinicpay/payments/docs"
)

// helpImage serves a screenshot the help shows (docs/help/images).
func helpImage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.ContainsAny(name, "/\\") || !strings.HasSuffix(name, ".png") {
		http.NotFound(w, r)
		return
	}
	http.ServeFileFS(w, r, docs.Help, "help/images/"+name)
}

// help serves the help for clinic staff (docs/help/<lang>.md), rendered
// to HTML: the console links to it, in the language it is shown in.
func (h *handlers) help(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if lang != "fr" && lang != "en" {
		http.NotFound(w, r)
		return
	}
	src, err := docs.Help.ReadFile("help/" + lang + ".md")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	var body bytes.Buffer
	if err := goldmark.Convert(src, &body); err != nil {
		http.Error(w, "the help page could not be rendered", http.StatusInternalServerError)
		return
	}
	other, otherName, back := "en", "English", "← Console"
	if lang == "en" {
		other, otherName = "fr", "Français"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html>
<html lang="%s"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ClinicPay — %s</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><header class="bar"><a class="brand" href="/">%s</a><nav><a href="/help/%s" lang="%s">%s</a></nav></header>
<main id="main" class="help">%s</main></body></html>`,
		lang, html.EscapeString(map[string]string{"fr": "Aide", "en": "Help"}[lang]), back, other, other, otherName, body.String())
}
