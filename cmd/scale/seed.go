package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/dynamostore"
)

// seed writes the clinics, each with a policy reminding a day after the
// due date, and n invoices due on due, planned as PUT /invoices plans them.
func seed(ctx context.Context, store *dynamostore.Store, n, clinics int, due time.Time) error {
	created := due.AddDate(0, 0, -30)
	for c := range clinics {
		co := &billing.Company{ID: fmt.Sprintf("scale-%03d", c), Name: "Clinique", ReplyToEmail: "facturation@clinique.example",
			DefaultLanguage: billing.French, Reminders: billing.ReminderPolicy{AfterDue: []int{1}}, Version: 1, CreatedAt: created, UpdatedAt: created}
		if _, err := store.SaveCompany(ctx, co, ""); err != nil {
			return fmt.Errorf("seed company: %w", err)
		}
	}
	jobs := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range jobs {
				if err := store.PutInvoice(ctx, invoice(i, clinics, due, created)); err != nil {
					errs <- fmt.Errorf("seed invoice %d: %w", i, err)
					return
				}
			}
		})
	}
	for i := range n {
		select {
		case jobs <- i:
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func invoice(i, clinics int, due, created time.Time) *billing.Invoice {
	return &billing.Invoice{CompanyID: fmt.Sprintf("scale-%03d", i%clinics), ID: fmt.Sprintf("inv-%07d", i), Number: fmt.Sprintf("F-%07d", i),
		Currency: "cad", Total: 12500, BalanceDue: 12500, IssuedOn: created.Format("2006-01-02"), DueOn: due.Format("2006-01-02"),
		Patient:   billing.Patient{Name: "Hélène Côté", Email: fmt.Sprintf("patient-%07d@example.com", i), Language: billing.French},
		Lines:     []billing.Line{{Description: "Consultation", Amount: 12500}},
		Reminders: billing.ReminderState{Plan: []billing.ReminderStep{{Key: "after-1", At: due.AddDate(0, 0, 1).Add(14 * time.Hour)}}},
		Version:   1, CreatedAt: created, UpdatedAt: created}
}
