// Command token prints a bearer token for the local API (make token).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/clinicpay/payments/infra/local/localapi"
)

func main() {
	company := flag.String("company", "clinic-demo", "billing company id (the tenant claim)")
	scope := flag.String("scope", "", `space-separated scopes, e.g. "billing:admin"`)
	ttl := flag.Duration("ttl", 12*time.Hour, "validity")
	flag.Parse()
	tok, err := localapi.IssueToken(os.Getenv("LOCAL_JWT_SECRET"), *company, *scope, *ttl)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(tok)
}
