package invoicepdf

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-pdf/fpdf"
)

// Page geometry, in millimetres, on US Letter (Canada's paper size).
const (
	marginX      = 20.0
	marginTop    = 18.0
	continuedTop = 26.0 // where content starts on pages 2 and on
	footerHeight = 22.0 // from the bottom edge: the footer and its gap
	amountWidth  = 42.0 // the amount column and the totals' value column
	cellPad      = 2.0  // horizontal padding inside a cell
	family       = "Go"
)

// Colours, as RGB.
type rgb struct{ r, g, b int }

var (
	ink       = rgb{33, 37, 41}
	muted     = rgb{108, 117, 125}
	accent    = rgb{23, 74, 122}
	rule      = rgb{206, 212, 218}
	tint      = rgb{233, 239, 246} // table header, balance row
	paleFill  = rgb{247, 249, 251} // payment box, summary note
	onAccent  = rgb{255, 255, 255}
	lineWidth = 0.2
)

type renderer struct {
	pdf      *fpdf.Fpdf
	d        Document
	t        labels
	pageW    float64
	pageH    float64
	contentW float64
	bottom   float64 // content must end above this y
}

func newRenderer(d Document) *renderer {
	pdf := fpdf.New("P", "mm", "Letter", "")
	w, h := pdf.GetPageSize()
	r := &renderer{pdf: pdf, d: d, t: catalog[d.Language], pageW: w, pageH: h,
		contentW: w - 2*marginX, bottom: h - footerHeight}
	return r
}

func (r *renderer) render(w io.Writer) error {
	pdf, d, t := r.pdf, r.d, r.t

	// Deterministic output: fixed dates, objects in a fixed order.
	created := d.Created
	if created.IsZero() {
		created = fixedDate
	}
	pdf.SetCreationDate(created.UTC())
	pdf.SetModificationDate(created.UTC())
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)

	pdf.SetTitle(t.Title+" "+d.Number, true)
	pdf.SetAuthor(d.ClinicName, true)
	pdf.SetLang(t.PDFLang)
	pdf.SetDisplayMode("fullwidth", "continuous")

	f, err := goFonts()
	if err != nil {
		return err
	}
	pdf.AddUTF8FontFromBytes(family, "", f.regular)
	pdf.AddUTF8FontFromBytes(family, "B", f.bold)
	pdf.SetMargins(marginX, marginTop, marginX)
	pdf.SetAutoPageBreak(false, footerHeight)
	pdf.SetCellMargin(cellPad)
	pdf.SetLineWidth(lineWidth)
	pdf.SetHeaderFunc(r.continuationHeader)

	pdf.AddPage()
	r.header()
	r.meta()
	if d.Summary {
		r.summaryNote()
	} else if len(d.Lines) > 0 {
		r.table()
	}
	r.totals()
	if d.PaymentURL != "" {
		r.payment()
	}
	// Footers last, now that the page count is known (an alias replaced at
	// the end would leave "Page 1 of 2" misaligned).
	n := pdf.PageCount()
	for p := 1; p <= n; p++ {
		pdf.SetPage(p)
		r.footer(p, n)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("invoicepdf: %w", err)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("invoicepdf: %w", err)
	}
	return nil
}

// ---- drawing helpers ---------------------------------------------------------

func (r *renderer) font(style string, size float64, c rgb) {
	r.pdf.SetFont(family, style, size)
	r.pdf.SetTextColor(c.r, c.g, c.b)
}

func (r *renderer) fill(c rgb) { r.pdf.SetFillColor(c.r, c.g, c.b) }
func (r *renderer) draw(c rgb) { r.pdf.SetDrawColor(c.r, c.g, c.b) }

// wrap splits s into lines that fit in a cell of width w in the current
// font (long words, such as URLs, are cut). Never empty.
func (r *renderer) wrap(s string, w float64) []string {
	lines := r.pdf.SplitText(s, w)
	if len(lines) == 0 {
		return []string{""}
	}
	return lines
}

// text writes s wrapped in a column of width w at (x, y), one line every
// lh, aligned "L", "R" or "C", and returns the height used.
func (r *renderer) text(x, y, w, lh float64, s, align string) float64 {
	lines := r.wrap(s, w)
	for i, l := range lines {
		r.pdf.SetXY(x, y+float64(i)*lh)
		r.pdf.CellFormat(w, lh, l, "", 0, align, false, 0, "")
	}
	return float64(len(lines)) * lh
}

func (r *renderer) hrule(y float64, c rgb, width float64) {
	r.draw(c)
	r.pdf.SetLineWidth(width)
	r.pdf.Line(marginX, y, r.pageW-marginX, y)
	r.pdf.SetLineWidth(lineWidth)
}

// ensure starts a new page unless h more millimetres fit below y; it
// returns where to draw.
func (r *renderer) ensure(y, h float64) float64 {
	if y+h <= r.bottom {
		return y
	}
	r.pdf.AddPage() // the header function draws the continuation header
	return r.pdf.GetY()
}

// ---- page furniture ----------------------------------------------------------

// header is page 1's top: the clinic on the left, the title on the right.
func (r *renderer) header() {
	d, t := r.d, r.t
	title := strings.ToUpper(t.Title)
	r.font("B", 22, accent)
	titleW := r.pdf.GetStringWidth(title) + 2*cellPad
	leftW := r.contentW - titleW - 10

	y := marginTop
	r.font("B", 16, ink)
	y += r.text(marginX, y, leftW, 7, d.ClinicName, "L")
	if d.ClinicEmail != "" {
		r.font("", 9.5, muted)
		h := r.text(marginX, y+0.5, leftW, 5, d.ClinicEmail, "L")
		linkW := min(leftW, r.pdf.GetStringWidth(d.ClinicEmail)+2*cellPad)
		r.pdf.LinkString(marginX, y+0.5, linkW, h, "mailto:"+d.ClinicEmail)
		y += 0.5 + h
	}

	r.font("B", 22, accent)
	ty := marginTop - 1
	ty += r.text(r.pageW-marginX-titleW, ty, titleW, 9, title, "R")

	y = max(y, ty) + 5
	r.hrule(y, accent, 0.6)
	r.pdf.SetY(y + 7)
}

// continuationHeader is the top of pages 2 and on: clinic and invoice
// number, so a loose page still says whose it is.
func (r *renderer) continuationHeader() {
	if r.pdf.PageNo() == 1 {
		return
	}
	y := continuedTop - 12
	r.font("", 9, muted)
	right := fmt.Sprintf(r.t.Continued, r.d.Number)
	rightW := min(r.pdf.GetStringWidth(right)+2*cellPad+1, r.contentW/2)
	r.pdf.SetXY(r.pageW-marginX-rightW, y)
	r.pdf.CellFormat(rightW, 5, r.fit(right, rightW), "", 0, "R", false, 0, "")
	leftW := r.contentW - rightW - 4
	r.font("B", 10, ink)
	r.pdf.SetXY(marginX, y)
	r.pdf.CellFormat(leftW, 5, r.fit(r.d.ClinicName, leftW), "", 0, "L", false, 0, "")
	r.hrule(y+7, rule, 0.3)
	r.pdf.SetY(continuedTop)
}

// footer: whom to ask, and the page number. It is drawn on a finished page,
// so it sets every state it uses: fpdf emits them into that page. (The fill
// colour too: fpdf writes a text colour into the page only while it differs
// from the fill colour.)
func (r *renderer) footer(page, pages int) {
	y := r.pageH - footerHeight + 8
	r.fill(paleFill)
	r.hrule(y, rule, 0.3)
	pageW := 30.0
	if r.d.ClinicEmail != "" {
		r.font("", 8, muted)
		w := r.contentW - pageW
		r.pdf.SetXY(marginX, y+2)
		s := r.fit(fmt.Sprintf(r.t.Questions, r.d.ClinicEmail), w)
		r.pdf.CellFormat(w, 4.5, s, "", 0, "L", false, 0, "")
	}
	r.font("", 8, muted)
	r.pdf.SetXY(r.pageW-marginX-pageW, y+2)
	r.pdf.CellFormat(pageW, 4.5, fmt.Sprintf(r.t.Page, page, pages), "", 0, "R", false, 0, "")
}

// fit returns s, or as much of it as fits in a cell of width w followed by
// "…".
func (r *renderer) fit(s string, w float64) string {
	room := w - 2*cellPad
	if r.pdf.GetStringWidth(s) <= room {
		return s
	}
	runes := []rune(s)
	for len(runes) > 0 && r.pdf.GetStringWidth(string(runes)+"…") > room {
		runes = runes[:len(runes)-1]
	}
	return strings.TrimSpace(string(runes)) + "…"
}

// ---- content -----------------------------------------------------------------

// meta: the patient on the left, number and dates on the right.
func (r *renderer) meta() {
	d, t := r.d, r.t
	top := r.pdf.GetY()

	leftY := top
	if d.PatientName != "" {
		w := r.contentW/2 - 5
		r.font("B", 8, muted)
		leftY += r.text(marginX, leftY, w, 4.5, strings.ToUpper(t.BillTo), "L")
		r.font("B", 11.5, ink)
		leftY += r.text(marginX, leftY+0.5, w, 5.5, d.PatientName, "L") + 0.5
	}

	rows := []struct{ label, value string }{
		{t.InvoiceNumber, d.Number},
		{t.IssuedOn, d.IssuedOn},
	}
	if d.DueOn != "" {
		rows = append(rows, struct{ label, value string }{t.DueOn, d.DueOn})
	}
	labelW, valueW := 42.0, 48.0
	x := r.pageW - marginX - labelW - valueW
	rightY := top
	for _, row := range rows {
		r.font("", 9, muted)
		r.text(x, rightY, labelW, 5.5, row.label, "L")
		r.font("B", 9.5, ink)
		rightY += r.text(x+labelW, rightY, valueW, 5.5, row.value, "R")
	}
	r.pdf.SetY(max(leftY, rightY) + 9)
}

// table: the lines, the header repeated on every page they reach.
func (r *renderer) table() {
	const (
		headH  = 8.0
		lh     = 4.8 // a description line
		padTop = 2.3
		padBot = 1.9
	)
	descW := r.contentW - amountWidth
	x := marginX // the cells pad their text by cellPad
	fullW := r.contentW

	head := func(y float64) float64 {
		r.fill(tint)
		r.pdf.Rect(x, y, fullW, headH, "F")
		r.font("B", 9, accent)
		r.pdf.SetXY(x, y)
		r.pdf.CellFormat(descW, headH, r.t.Description, "", 0, "L", false, 0, "")
		r.pdf.CellFormat(amountWidth, headH, r.t.Amount, "", 0, "R", false, 0, "")
		return y + headH
	}

	y := r.pdf.GetY()
	// The header and at least one line of the first row stay together.
	y = r.ensure(y, headH+padTop+lh+padBot)
	y = head(y)
	for _, ln := range r.d.Lines {
		r.font("", 10, ink)
		desc := r.wrap(ln.Description, descW)
		rowH := padTop + float64(len(desc))*lh + padBot
		// Keep a row on one page when a fresh page can hold it.
		if y+rowH > r.bottom && rowH <= r.bottom-continuedTop-headH {
			r.pdf.AddPage()
			y = head(r.pdf.GetY())
			r.font("", 10, ink)
		}
		y += padTop
		for i, s := range desc {
			if y+lh+padBot > r.bottom { // a row taller than a page flows on
				r.pdf.AddPage()
				y = head(r.pdf.GetY()) + padTop
				r.font("", 10, ink)
			}
			r.pdf.SetXY(x, y)
			r.pdf.CellFormat(descW, lh, s, "", 0, "L", false, 0, "")
			if i == 0 {
				r.pdf.CellFormat(amountWidth, lh, ln.Amount, "", 0, "R", false, 0, "")
			}
			y += lh
		}
		y += padBot
		r.draw(rule)
		r.pdf.Line(marginX, y, r.pageW-marginX, y)
	}
	r.pdf.SetY(y + 6)
}

// summaryNote stands where the lines would be in summary mode.
func (r *renderer) summaryNote() {
	r.font("", 9.5, muted)
	w := r.contentW
	lines := r.wrap(r.t.SummaryNote, w)
	h := float64(len(lines))*5 + 6
	y := r.ensure(r.pdf.GetY(), h)
	r.fill(paleFill)
	r.draw(rule)
	r.pdf.Rect(marginX, y, w, h, "FD")
	r.text(marginX+cellPad, y+3, w-2*cellPad, 5, r.t.SummaryNote, "L")
	r.pdf.SetY(y + h + 8)
}

// totals: total, paid and the balance due, right-aligned under the amounts.
func (r *renderer) totals() {
	d, t := r.d, r.t
	const rowH, balH = 7.0, 10.0
	labelW := 50.0
	blockW := labelW + amountWidth
	x := r.pageW - marginX - blockW

	rows := []struct{ label, value string }{{t.Total, d.Total}}
	if d.AmountPaid != "" {
		rows = append(rows, struct{ label, value string }{t.AmountPaid, d.AmountPaid})
	}
	y := r.ensure(r.pdf.GetY(), float64(len(rows))*rowH+balH+4)
	for _, row := range rows {
		r.font("", 10, muted)
		r.pdf.SetXY(x, y)
		r.pdf.CellFormat(labelW, rowH, row.label, "", 0, "L", false, 0, "")
		r.font("", 10, ink)
		r.pdf.CellFormat(amountWidth, rowH, row.value, "", 0, "R", false, 0, "")
		y += rowH
	}
	y += 2
	r.fill(tint)
	r.pdf.Rect(x, y, blockW, balH, "F")
	r.draw(accent)
	r.pdf.SetLineWidth(0.5)
	r.pdf.Line(x, y, x+blockW, y)
	r.pdf.SetLineWidth(lineWidth)
	r.font("B", 11.5, accent)
	r.pdf.SetXY(x, y)
	r.pdf.CellFormat(labelW, balH, t.BalanceDue, "", 0, "L", false, 0, "")
	r.pdf.CellFormat(amountWidth, balH, d.BalanceDue, "", 0, "R", false, 0, "")
	r.pdf.SetY(y + balH + 10)
}

// payment: the link, as a button and as text, both clickable.
func (r *renderer) payment() {
	d, t := r.d, r.t
	const pad = 6.0
	innerW := r.contentW - 2*pad
	x := marginX + pad - cellPad // text starts at marginX+pad

	// Measure first, so the box stays on one page.
	r.font("", 9.5, ink)
	intro := r.wrap(t.PayIntro, innerW+2*cellPad)
	r.font("", 8.5, accent)
	urlLines := r.wrap(d.PaymentURL, innerW+2*cellPad)
	const headH, introLH, btnH, urlLH = 7.0, 5.0, 10.0, 4.2
	boxH := pad + headH + float64(len(intro))*introLH + 4 + btnH + 5 + 4.5 + float64(len(urlLines))*urlLH + pad - 2

	y := r.ensure(r.pdf.GetY(), boxH)
	r.fill(paleFill)
	r.draw(rule)
	r.pdf.RoundedRect(marginX, y, r.contentW, boxH, 2, "1234", "FD")

	cy := y + pad
	r.font("B", 12, accent)
	r.pdf.SetXY(x, cy)
	r.pdf.CellFormat(innerW+2*cellPad, headH, t.PayHeading, "", 0, "L", false, 0, "")
	cy += headH
	r.font("", 9.5, ink)
	cy += r.text(x, cy, innerW+2*cellPad, introLH, t.PayIntro, "L") + 4

	// The button: a filled box, the whole of it a link.
	r.font("B", 11, onAccent)
	btnW := r.pdf.GetStringWidth(t.PayButton) + 16
	r.fill(accent)
	r.pdf.RoundedRect(x+cellPad, cy, btnW, btnH, 1.5, "1234", "F")
	r.pdf.SetXY(x+cellPad, cy)
	r.pdf.SetCellMargin(0)
	r.pdf.CellFormat(btnW, btnH, t.PayButton, "", 0, "C", false, 0, d.PaymentURL)
	r.pdf.SetCellMargin(cellPad)
	cy += btnH + 5

	r.font("", 8.5, muted)
	r.pdf.SetXY(x, cy)
	r.pdf.CellFormat(innerW+2*cellPad, 4.5, t.PayFallback, "", 0, "L", false, 0, "")
	cy += 4.5
	r.font("", 8.5, accent)
	for _, s := range urlLines {
		r.pdf.SetXY(x, cy)
		// The link covers the text, not the rest of the line.
		r.pdf.CellFormat(r.pdf.GetStringWidth(s)+2*cellPad, urlLH, s, "", 0, "L", false, 0, d.PaymentURL)
		cy += urlLH
	}
	r.pdf.SetY(y + boxH + 6)
}
