// Package e2e holds the end-to-end tests: the local API serving the real
// handlers, against DynamoDB Local, stripe-mock and aws-ses-v2-local that
// the tests start themselves (TestMain) and stop afterwards. Calls to Stripe
// and SES go through recording proxies so tests can assert on what the real
// servers were asked and inject upstream faults.
package e2e
