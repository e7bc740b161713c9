package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/internal/dynamostore"
)

// demoInvoices are the invoices a fresh make dev starts with: one per
// language, one with several lines. Their dates follow the day they are
// seeded (issued last week, due in a month), so the demo clinic's
// reminders come due weeks later, not on some calendar day in the middle
// of a test or a demo.
func demoInvoices(today time.Time) []map[string]any {
	day := func(days int) string { return today.AddDate(0, 0, days).Format(time.DateOnly) }
	return []map[string]any{
		{
			"number": "F-2026-0042", "currency": "cad", "total": 12500, "balanceDue": 12500, "issuedOn": day(-7), "dueOn": day(30),
			"patient": map[string]any{"name": "Marie Tremblay", "email": "marie.tremblay@example.com", "language": "fr"},
			"lines":   []map[string]any{{"description": "Consultation", "amount": 12500}},
		},
		{
			"number": "F-2026-0043", "currency": "cad", "total": 18000, "balanceDue": 18000, "issuedOn": day(-6), "dueOn": day(31),
			"patient": map[string]any{"name": "John Smith", "email": "john.smith@example.com", "language": "en"},
			"lines":   []map[string]any{{"description": "Consultation", "amount": 9500}, {"description": "Follow-up visit", "amount": 8500}},
		},
		{
			"number": "F-2026-0044", "currency": "cad", "total": 21000, "balanceDue": 21000, "issuedOn": day(-3),
			"patient": map[string]any{"name": "Hélène Gagnon", "email": "helene.gagnon@example.com", "language": "fr"},
			"lines":   []map[string]any{{"description": "Évaluation", "amount": 15000}, {"description": "Rapport", "amount": 6000}},
		},
	}
}

// seedDemo creates the demo clinic, connected to stripe-mock's account, and
// its invoices, through the public API (as the platform and the clinic
// would) when the clinic does not exist yet: a fresh start or RESET=1.
// It reports whether it created them.
func seedDemo(ctx context.Context, api, secret, company string) (bool, error) {
	platform, err := localapi.IssueToken(secret, "", "billing:platform", time.Hour)
	if err != nil {
		return false, err
	}
	staff, err := localapi.IssueToken(secret, company, "billing:admin", time.Hour)
	if err != nil {
		return false, err
	}
	status, err := call(ctx, http.MethodGet, api+"/billing-companies/"+company, platform, nil)
	if err != nil || status == http.StatusOK {
		return false, err
	}
	if status != http.StatusNotFound {
		return false, fmt.Errorf("GET the demo clinic answered %d", status)
	}
	steps := []struct {
		path, token string
		body        any
	}{{"/billing-companies/" + company, platform, map[string]any{
		"name": "Clinique Saint-Louis", "replyToEmail": "facturation@clinique-saint-louis.example", "defaultLanguage": "fr",
		"stripeAccountId": "acct_1DemoClinic",
		"reminders":       map[string]any{"beforeDue": []int{3}, "afterDue": []int{1, 7}, "includePaymentLink": true},
	}}}
	for _, inv := range demoInvoices(time.Now().UTC()) {
		steps = append(steps, struct {
			path, token string
			body        any
		}{"/invoices/" + inv["number"].(string), staff, inv})
	}
	for _, s := range steps {
		status, err := call(ctx, http.MethodPut, api+s.path, s.token, s.body)
		if err != nil {
			return false, err
		}
		if status/100 != 2 {
			return false, fmt.Errorf("PUT %s answered %d", s.path, status)
		}
	}
	return true, nil
}

func call(ctx context.Context, method, url, token string, body any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// clinicNames reads a billing company's name, which Stripe's hosted page
// shows as the connected account's business name.
func clinicNames(db *dynamodb.Client, table string) func(context.Context, string) string {
	store := dynamostore.New(db, table)
	return func(ctx context.Context, companyID string) string {
		c, err := store.GetCompany(ctx, companyID)
		if err != nil || c == nil {
			return ""
		}
		return c.Name
	}
}
