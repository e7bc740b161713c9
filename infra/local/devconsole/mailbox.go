package devconsole

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// ErrNoMail is an e-mail the mailbox never received.
var ErrNoMail = errors.New("no such e-mail")

// Mail is one e-mail as aws-ses-v2-local received and parsed it.
type Mail struct {
	MessageID   string   `json:"messageId"`
	From        string   `json:"from"`
	ReplyTo     []string `json:"replyTo"`
	Destination struct {
		To  []string `json:"to"`
		Cc  []string `json:"cc"`
		Bcc []string `json:"bcc"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		HTML string `json:"html,omitempty"`
		Text string `json:"text,omitempty"`
	} `json:"body"`
	Attachments []struct {
		Content     string `json:"content,omitempty"`
		ContentType string `json:"contentType"`
		Filename    string `json:"filename,omitempty"`
		Size        int    `json:"size"`
	} `json:"attachments"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers,omitempty"`
	// At is when SES took it, in Unix seconds.
	At int64 `json:"at"`
}

func (m *Mail) summary() map[string]any {
	return map[string]any{
		"messageId": m.MessageID, "from": m.From, "to": m.Destination.To, "subject": m.Subject,
		"at": time.Unix(m.At, 0).UTC().Format(time.RFC3339), "attachments": len(m.Attachments),
	}
}

// sesClient reads aws-ses-v2-local's store, on loopback.
var sesClient = &http.Client{Timeout: 10 * time.Second}

// Mailbox is what SES received. aws-ses-v2-local keeps mail in memory
// only: the mailbox copies it to a file at each read and when make dev
// stops, so the e-mails an invoice lists are still readable after a
// restart.
type Mailbox struct {
	SESURL string
	// Path is the file kept ("" keeps nothing).
	Path string

	mu    sync.Mutex
	mails map[string]*Mail
}

// Load reads the mailbox kept at m.Path.
func (m *Mailbox) Load() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mails = map[string]*Mail{}
	if m.Path == "" {
		return nil
	}
	b, err := os.ReadFile(m.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var kept []*Mail
	if err := json.Unmarshal(b, &kept); err != nil {
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	for _, x := range kept {
		m.mails[x.MessageID] = x
	}
	return nil
}

// Sync copies what SES holds into the mailbox and keeps it.
func (m *Mailbox) Sync(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.SESURL+"/store", nil)
	if err != nil {
		return err
	}
	resp, err := sesClient.Do(req)
	if err != nil {
		return fmt.Errorf("read SES's store: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("read SES's store: %s", resp.Status)
	}
	var store struct {
		Emails []*Mail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return fmt.Errorf("read SES's store: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mails == nil {
		m.mails = map[string]*Mail{}
	}
	changed := false
	for _, x := range store.Emails {
		if _, ok := m.mails[x.MessageID]; !ok {
			m.mails[x.MessageID], changed = x, true
		}
	}
	if !changed || m.Path == "" {
		return nil
	}
	b, err := json.Marshal(m.sortedLocked())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(m.Path), 0o700); err != nil {
		return err
	}
	tmp := m.Path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, m.Path)
}

func (m *Mailbox) sortedLocked() []*Mail {
	out := make([]*Mail, 0, len(m.mails))
	for _, x := range m.mails {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].At != out[j].At {
			return out[i].At > out[j].At
		}
		return out[i].MessageID > out[j].MessageID
	})
	return out
}

// List is every e-mail, newest first.
func (m *Mailbox) List(ctx context.Context) ([]*Mail, error) {
	if err := m.Sync(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sortedLocked(), nil
}

// Get is one e-mail.
func (m *Mailbox) Get(ctx context.Context, messageID string) (*Mail, error) {
	m.mu.Lock()
	x := m.mails[messageID]
	m.mu.Unlock()
	if x == nil {
		if err := m.Sync(ctx); err != nil {
			return nil, err
		}
		m.mu.Lock()
		x = m.mails[messageID]
		m.mu.Unlock()
	}
	if x == nil {
		return nil, ErrNoMail
	}
	return x, nil
}
