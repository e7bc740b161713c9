// Package billing is the domain of the service: billing companies (tenants),
// their invoices, the Stripe payment links that let a patient pay an invoice,
// and the invoice e-mails that carry those links.
//
// It holds the types, the rules and the small interfaces it needs from the
// outside world (Store, PaymentProvider, Mailer). Adapters implement those
// interfaces in their own packages (dynamostore, stripegateway, sesmailer);
// the HTTP layer (httpapi) turns requests into calls on Service and the
// Error codes it returns into HTTP statuses.
//
// # Idempotency: why the key is kept in two layers
//
// A request's Idempotency-Key is kept twice, on purpose. The HTTP layer
// (httpapi, records in internal/idempotency) keeps the *answer*: a retry
// after the first answer was recorded gets it back and nothing runs. It
// cannot cover a request that died after its effect and before its answer
// was recorded: the record's INPROGRESS runs out with the dead invocation's
// deadline, the retry runs the use case again, and the effect cannot have
// been written in the same transaction as the record, because a Stripe call
// or an SES send sits between the two. So the domain keeps the key on what a
// request made (Link.RequestKey, Link.EndRequestKey, SentEmail.RequestKey,
// NewLink.RequestKey under the lease): the re-run finds its own link, removal
// or e-mail and returns it instead of making a second link or sending a
// second e-mail. Remove either layer and tests fail: the replay tests
// (infra/test/e2e/idempotency_test.go) need the first; without the second, the
// five "dies at committed" rows of infra/test/e2e/crash_test.go fail (a second
// link, a second removal, a second e-mail).
package billing
