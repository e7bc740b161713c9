// Package billing is the domain of the service: billing companies (tenants),
// their invoices, the Stripe payment links that let a patient pay an invoice,
// and the invoice e-mails that carry those links.
//
// It holds the types, the rules and the small interfaces it needs from the
// outside world (Store, PaymentProvider, Mailer). Adapters implement those
// interfaces in their own packages (dynamostore, stripegateway, sesmailer);
// the HTTP layer (httpapi) turns requests into calls on Service and the
// Error codes it returns into HTTP statuses.
package billing
