package emails

import "strings"

// text writes the plain-text part: paragraphs separated by a blank line,
// built by the same pieces, in the same order, as the HTML part
// (layout.templ). Plain text needs no escaping: every value is already on
// one line (oneLine), so none can forge a line.
type text struct {
	t     *words
	paras []string
}

func (x *text) para(lines ...string) { x.paras = append(x.paras, strings.Join(lines, "\n")) }

func (x *text) String() string { return strings.Join(x.paras, "\n\n") + "\n" }

// page: the clinic's name at the top.
func (x *text) page(clinic string) { x.para(clinic) }

// greeting: "Bonjour <name>," then the e-mail's introduction.
func (x *text) greeting(name, intro string) {
	x.para(x.t.Greeting + " " + name + ",")
	x.para(intro)
}

// facts: one "label : value" line per row.
func (x *text) facts(rows []row) { x.para(x.labelled(rows)...) }

// amounts: the lines, if any ("- description : amount"), then the totals.
func (x *text) amounts(lines []Line, totals []row) {
	if len(lines) > 0 {
		ls := make([]string, len(lines))
		for i, l := range lines {
			ls[i] = "- " + l.Description + x.t.Colon + " " + l.Amount
		}
		x.para(ls...)
	}
	x.para(x.labelled(totals)...)
}

// note: the clinic's message under its heading, if any. It ends with an
// empty line, as the e-mail always had: two blank lines follow the note.
func (x *text) note(lines []string) {
	if len(lines) == 0 {
		return
	}
	x.para(append(append([]string{x.t.NoteHeading + x.t.Colon}, lines...), "")...)
}

// contact: where to write with questions.
func (x *text) contact(replyTo string) { x.para(x.t.Questions + " " + replyTo) }

// pay: the invitation to pay and the link.
func (x *text) pay(url string) {
	x.para(x.t.PayIntro)
	x.para(x.t.PayButton + x.t.Colon + " " + url)
}

func (x *text) labelled(rows []row) []string {
	ls := make([]string, len(rows))
	for i, r := range rows {
		ls[i] = r.label + x.t.Colon + " " + r.value
	}
	return ls
}
