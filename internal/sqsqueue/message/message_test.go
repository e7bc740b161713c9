package message

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// oldBody is a message as the service sent it before the shape moved out
// of billing (json.Marshal of billing.WorkBatch, commit 1b87fc1): an
// invoice's item, a company's planning resumed, an invoice to plan again.
const oldBody = `{"items":[{"company":"clinic-1","invoice":"inv-42","now":"2026-12-07T14:00:00Z","run":"run-20261207T14"},{"company":"clinic-2","now":"2026-12-07T14:00:00Z","run":"run-20261207T14","replan":true,"position":"INV#inv-7","since":"2026-12-07T13:00:00Z"},{"company":"clinic-3","invoice":"inv-9","now":"2026-12-07T14:00:00Z","replan":true}]}`

func oldItems() []billing.WorkMessage {
	now := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	return []billing.WorkMessage{
		{CompanyID: "clinic-1", InvoiceID: "inv-42", Now: now, Run: "run-20261207T14"},
		{CompanyID: "clinic-2", Now: now, Run: "run-20261207T14", Replan: true, Position: "INV#inv-7", Since: now.Add(-time.Hour)},
		{CompanyID: "clinic-3", InvoiceID: "inv-9", Now: now, Replan: true},
	}
}

// A message sent by the code before still decodes, and the same items are
// written byte for byte as then: messages on the queue (and in its
// dead-letter queue) during a deploy are read either way.
func TestOldMessagesStillDecode(t *testing.T) {
	got, err := Decode([]byte(oldBody))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, oldItems()) {
		t.Fatalf("decoded %+v\nwant %+v", got, oldItems())
	}
	out, err := Encode(oldItems())
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != oldBody {
		t.Fatalf("encoded %s\nwant   %s", out, oldBody)
	}
}

func TestDecodeRefusesWhatIsNotWork(t *testing.T) {
	for _, body := range []string{
		``, `null`, `[]`, `{}`, `{"items":[]}`, `{"items":null}`, `not json`,
		`{"items":[{"invoice":"inv-1","now":"2026-12-07T14:00:00Z"}]}`,                                          // no company
		`{"items":[{"company":"c1","now":"2026-12-07T14:00:00Z"},{"company":"","now":"2026-12-07T14:00:00Z"}]}`, // one without
		`{"items":[{"company":"c1","now":"yesterday"}]}`,
	} {
		if items, err := Decode([]byte(body)); !errors.Is(err, ErrNotWork) || items != nil {
			t.Errorf("%s: %v %v", body, items, err)
		}
	}
}

// Fields a later version adds are ignored by this one, so a message sent
// by the next deploy is still worked by a worker of this one.
func TestUnknownFieldsAreIgnored(t *testing.T) {
	got, err := Decode([]byte(`{"items":[{"company":"c1","invoice":"i1","now":"2026-12-07T14:00:00Z","priority":3}],"version":2}`))
	if err != nil || len(got) != 1 || got[0].CompanyID != "c1" || got[0].InvoiceID != "i1" {
		t.Fatalf("%+v %v", got, err)
	}
}
