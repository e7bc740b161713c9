package sesevents

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/clinicpay/payments/internal/billing"
)

// FuzzRead: whatever the body, Read does not panic; a refusal is an
// invalid_event error; an accepted event has an id, a type, a message id
// and a time, and reads the same twice. Its seeds (testdata/fuzz/FuzzRead)
// are the fixtures and a few broken bodies.
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, err := Read(payload)
		if err != nil {
			var e *billing.Error
			if !errors.As(err, &e) || e.Code != billing.CodeInvalidEvent || ev != nil {
				t.Fatalf("not an invalid_event refusal: %v", err)
			}
			return
		}
		if ev.ID == "" || ev.Type == "" || ev.MessageID == "" || ev.At.IsZero() {
			t.Fatalf("accepted an event without an id, type, message id or time: %+v", ev)
		}
		again, err := Read(payload)
		if err != nil || !reflect.DeepEqual(ev, again) {
			t.Fatalf("read differently the second time: %+v, %v", again, err)
		}
	})
}

// The seed corpus holds every fixture as it is.
func TestFuzzSeedsAreTheFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		name = name[:len(name)-len(".json")]
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(fixture(t, name))))
		got, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzRead", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("testdata/fuzz/FuzzRead/%s is not testdata/%s.json: write it again", name, name)
		}
	}
}
