// Package samtemplate reads template.yaml (with goformation, AWS Labs' own
// CloudFormation/SAM model) so that local runs and tests use exactly what is
// deployed: the table definition and the function/route bindings.
package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	cfnddb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
)

// Template is a parsed template.yaml.
type Template struct {
	cfn *cloudformation.Template
}

// Load parses the template at path.
func Load(path string) (*Template, error) {
	t, err := goformation.Open(path)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &Template{cfn: t}, nil
}

// LoadFromRepo parses template.yaml at the root of the repository holding the
// working directory.
func LoadFromRepo() (*Template, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return Load(filepath.Join(root, "template.yaml"))
}

// RepoRoot is the nearest directory above the working directory that holds
// go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// CFN exposes the parsed template to checks that need more than the helpers.
func (t *Template) CFN() *cloudformation.Template { return t.cfn }

// Route is a function bound to an HTTP API route.
type Route struct {
	Function string
	Method   string
	Path     string
	// Public: the route opts out of the JWT authorizer (Auth.Authorizer NONE).
	Public bool
}

// Key is the route key ("PUT /invoices/{invoiceId}").
func (r Route) Key() string { return r.Method + " " + r.Path }

// Routes lists every HttpApi event of every function, sorted by route key.
func (t *Template) Routes() []Route {
	var routes []Route
	for name, fn := range t.cfn.GetAllServerlessFunctionResources() {
		for _, ev := range fn.Events {
			if ev.Type != "HttpApi" || ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
				continue
			}
			e := ev.Properties.HttpApiEvent
			r := Route{Function: name}
			if e.Method != nil {
				r.Method = strings.ToUpper(*e.Method)
			}
			if e.Path != nil {
				r.Path = *e.Path
			}
			if e.Auth != nil && e.Auth.Authorizer != nil && *e.Auth.Authorizer == "NONE" {
				r.Public = true
			}
			routes = append(routes, r)
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].Key() < routes[j].Key() })
	return routes
}

// CreateTableInput turns the template's AWS::DynamoDB::Table resource into
// the CreateTable call that makes the same table, plus its TTL attribute
// ("" when TTL is off).
func (t *Template) CreateTableInput(logicalID, tableName string) (*dynamodb.CreateTableInput, string, error) {
	tbl, err := t.cfn.GetDynamoDBTableWithName(logicalID)
	if err != nil {
		return nil, "", fmt.Errorf("table %s: %w", logicalID, err)
	}
	in := &dynamodb.CreateTableInput{
		TableName:   &tableName,
		BillingMode: ddbtypes.BillingModePayPerRequest,
	}
	for _, a := range tbl.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: &a.AttributeName, AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	in.KeySchema = keySchema(tbl.KeySchema)
	for _, g := range tbl.GlobalSecondaryIndexes {
		idx := ddbtypes.GlobalSecondaryIndex{IndexName: &g.IndexName, KeySchema: keySchema(g.KeySchema), Projection: &ddbtypes.Projection{}}
		if g.Projection.ProjectionType != nil {
			idx.Projection.ProjectionType = ddbtypes.ProjectionType(*g.Projection.ProjectionType)
		}
		idx.Projection.NonKeyAttributes = g.Projection.NonKeyAttributes
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, idx)
	}
	ttl := ""
	if s := tbl.TimeToLiveSpecification; s != nil && s.Enabled && s.AttributeName != nil {
		ttl = *s.AttributeName
	}
	return in, ttl, nil
}

func keySchema(ks []cfnddb.Table_KeySchema) []ddbtypes.KeySchemaElement {
	var out []ddbtypes.KeySchemaElement
	for _, k := range ks {
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: &k.AttributeName, KeyType: ddbtypes.KeyType(k.KeyType)})
	}
	return out
}
