package billing

// Caller is who is asking, as the verified token says: the billing company
// it acts for (the tenant claim) and the roles its scopes grant. The HTTP
// layer builds it; every use case asked on someone's behalf takes it (the
// company use cases decide with its roles, the invoice and payment use cases
// act for its Tenant). The jobs and the webhooks act for no caller.
type Caller struct {
	// Tenant is the billing company the token names; empty for a platform
	// operator's token that names none.
	Tenant string
	// Admin: the billing:admin scope (the clinic's own settings).
	Admin bool
	// Platform: the billing:platform scope, held by the platform's operators
	// only. It connects a clinic's Stripe account (the seed's flow: the
	// clinic sends its acct_… to the platform, which connects it).
	Platform bool
}

// Staff is a caller acting for tenant with no special scope.
func Staff(tenant string) Caller { return Caller{Tenant: tenant} }

// mayManage reports whether the caller may read and edit companyID's
// settings: its own admin, or the platform.
func (c Caller) mayManage(companyID string) bool {
	return c.Platform || (c.Admin && c.Tenant == companyID)
}
