// Package message is the body of the work queue's messages as SQS carries
// them from the scheduler and the workers (internal/sqsqueue sends them)
// to the worker (internal/jobs reads them): JSON, up to MaxItems items to
// a message. The domain's billing.WorkMessage knows nothing of this shape.
//
// A message outlives the code that sent it (a message waits on the queue,
// and in its dead-letter queue, through deploys), so the shape changes
// only by adding fields old readers ignore: TestOldMessagesStillDecode
// keeps a body of each kind as sent before.
//
// It is its own package, apart from the SQS client, so that the worker's
// function links no SQS code to read it.
package message

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// MaxItems is the most items one message carries: SQS bills, and its event
// source mapping delivers, by the message; an item costs a few hundred
// bytes of the 256 KB a message may hold.
const MaxItems = 10

// body is a message's JSON.
type body struct {
	Items []item `json:"items"`
}

// item is one billing.WorkMessage.
type item struct {
	CompanyID string    `json:"company"`
	InvoiceID string    `json:"invoice,omitempty"`
	Now       time.Time `json:"now"`
	Run       string    `json:"run,omitempty"`
	Replan    bool      `json:"replan,omitempty"`
	Position  string    `json:"position,omitempty"`
	Since     time.Time `json:"since,omitzero"`
}

// ErrNotWork is wrapped by Decode's errors: the body is no message of the
// work queue (it goes to the dead-letter queue, where someone looks at it).
var ErrNotWork = errors.New("not a message of the work queue")

// Encode writes the items as one message's body.
func Encode(items []billing.WorkMessage) ([]byte, error) {
	b := body{Items: make([]item, len(items))}
	for i, m := range items {
		b.Items[i] = item(m)
	}
	out, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode work items: %w", err)
	}
	return out, nil
}

// Decode reads a message's body: at least one item, each naming its
// company.
func Decode(raw []byte) ([]billing.WorkMessage, error) {
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotWork, err)
	}
	if len(b.Items) == 0 {
		return nil, fmt.Errorf("%w: no items", ErrNotWork)
	}
	items := make([]billing.WorkMessage, len(b.Items))
	for i, it := range b.Items {
		if it.CompanyID == "" {
			return nil, fmt.Errorf("%w: item %d names no company", ErrNotWork, i)
		}
		items[i] = billing.WorkMessage(it)
	}
	return items, nil
}
