package httpapi

// Route is one route of the HTTP API and the Lambda function that serves it.
// The table is checked against template.yaml and the local API serves it.
type Route struct {
	Method string
	Path   string
	// Function is the function's logical id in template.yaml; Dir its
	// folder under functions/.
	Function string
	Dir      string
	// Public routes have no JWT authorizer.
	Public bool
	// Handler picks the route's handler on an API.
	Handler func(*API) Handler
}

// Key is the route key as API Gateway writes it ("PUT /invoices/{invoiceId}").
func (r Route) Key() string { return r.Method + " " + r.Path }

// Routes is every route of the contract.
var Routes = []Route{
	{Method: "PUT", Path: "/billing-companies/{companyId}", Function: "PutBillingCompanyFunction", Dir: "put-billing-company",
		Handler: func(a *API) Handler { return a.PutBillingCompany }},
	{Method: "GET", Path: "/billing-companies/{companyId}", Function: "GetBillingCompanyFunction", Dir: "get-billing-company",
		Handler: func(a *API) Handler { return a.GetBillingCompany }},
	{Method: "POST", Path: "/billing-companies/{companyId}/stripe-onboarding", Function: "StartStripeOnboardingFunction", Dir: "start-stripe-onboarding",
		Handler: func(a *API) Handler { return a.StartStripeOnboarding }},
	{Method: "GET", Path: "/invoices", Function: "ListInvoicesFunction", Dir: "list-invoices",
		Handler: func(a *API) Handler { return a.ListInvoices }},
	{Method: "PUT", Path: "/invoices/{invoiceId}", Function: "PutInvoiceFunction", Dir: "put-invoice",
		Handler: func(a *API) Handler { return a.PutInvoice }},
	{Method: "GET", Path: "/invoices/{invoiceId}", Function: "GetInvoiceFunction", Dir: "get-invoice",
		Handler: func(a *API) Handler { return a.GetInvoice }},
	{Method: "POST", Path: "/invoices/{invoiceId}/payment-link", Function: "CreatePaymentLinkFunction", Dir: "create-payment-link",
		Handler: func(a *API) Handler { return a.CreatePaymentLink }},
	{Method: "POST", Path: "/invoices/{invoiceId}/payment-link/regenerate", Function: "RegeneratePaymentLinkFunction", Dir: "regenerate-payment-link",
		Handler: func(a *API) Handler { return a.RegeneratePaymentLink }},
	{Method: "DELETE", Path: "/invoices/{invoiceId}/payment-link", Function: "RemovePaymentLinkFunction", Dir: "remove-payment-link",
		Handler: func(a *API) Handler { return a.RemovePaymentLink }},
	{Method: "POST", Path: "/invoices/{invoiceId}/emails", Function: "SendInvoiceEmailFunction", Dir: "send-invoice-email",
		Handler: func(a *API) Handler { return a.SendInvoiceEmail }},
	{Method: "PUT", Path: "/invoices/{invoiceId}/reminders", Function: "PutInvoiceRemindersFunction", Dir: "put-invoice-reminders",
		Handler: func(a *API) Handler { return a.PutInvoiceReminders }},
	{Method: "POST", Path: "/invoices/{invoiceId}/reader-payment", Function: "StartReaderPaymentFunction", Dir: "start-reader-payment",
		Handler: func(a *API) Handler { return a.StartReaderPayment }},
	{Method: "DELETE", Path: "/invoices/{invoiceId}/reader-payment", Function: "CancelReaderPaymentFunction", Dir: "cancel-reader-payment",
		Handler: func(a *API) Handler { return a.CancelReaderPayment }},
	{Method: "POST", Path: "/invoices/{invoiceId}/reader-refund", Function: "StartReaderRefundFunction", Dir: "start-reader-refund",
		Handler: func(a *API) Handler { return a.StartReaderRefund }},
	{Method: "GET", Path: "/payments", Function: "ListPaymentsFunction", Dir: "list-payments",
		Handler: func(a *API) Handler { return a.ListPayments }},
	{Method: "POST", Path: "/readers", Function: "RegisterReaderFunction", Dir: "register-reader",
		Handler: func(a *API) Handler { return a.RegisterReader }},
	{Method: "GET", Path: "/readers", Function: "ListReadersFunction", Dir: "list-readers",
		Handler: func(a *API) Handler { return a.ListReaders }},
	{Method: "DELETE", Path: "/readers/{readerId}", Function: "DeleteReaderFunction", Dir: "delete-reader",
		Handler: func(a *API) Handler { return a.DeleteReader }},
	{Method: "POST", Path: "/webhooks/stripe", Function: "StripeWebhookFunction", Dir: "stripe-webhook", Public: true,
		Handler: func(a *API) Handler { return a.StripeWebhook }},
}
