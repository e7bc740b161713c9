// Package samtemplate reads template.yaml so that local runs and tests use
// exactly what is deployed: the table definition, the functions with their
// routes, settings and policies. It reads the YAML directly (yaml.v3 keeps
// CloudFormation's !Ref / !Sub / !GetAtt tags on the nodes), so any property
// SAM accepts can be used; goformation's model rejects newer ones such as
// LoggingConfig.
package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"
)

// Template is a parsed template.yaml.
type Template struct {
	root *yaml.Node // the document's mapping
}

// Load parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
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

// Get follows keys down mappings; nil when a key is missing.
func Get(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

// Keys lists a mapping's keys in order.
func Keys(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var ks []string
	for i := 0; i < len(n.Content); i += 2 {
		ks = append(ks, n.Content[i].Value)
	}
	return ks
}

// Strings reads a scalar or a sequence of scalars ("!Ref X" reads as X with
// its tag).
func Strings(n *yaml.Node) []string {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			out = append(out, Strings(c)...)
		}
		return out
	}
	return nil
}

// Resource is one entry of Resources.
type Resource struct {
	Name       string
	Type       string
	Properties *yaml.Node
	Metadata   *yaml.Node
	// Node is the whole entry (DeletionPolicy, Condition…).
	Node *yaml.Node
}

// Resources lists the template's resources of a type ("" for all).
func (t *Template) Resources(typ string) []Resource {
	res := Get(t.root, "Resources")
	var out []Resource
	for _, name := range Keys(res) {
		r := Get(res, name)
		rt := Get(r, "Type")
		if rt == nil || (typ != "" && rt.Value != typ) {
			continue
		}
		out = append(out, Resource{Name: name, Type: rt.Value, Properties: Get(r, "Properties"), Metadata: Get(r, "Metadata"), Node: r})
	}
	return out
}

// Globals returns the Globals section for a resource kind ("Function").
func (t *Template) Globals(kind string) *yaml.Node { return Get(t.root, "Globals", kind) }

// Route is a function bound to an HTTP API route.
type Route struct {
	Function string
	Method   string
	Path     string
	// Public: the route opts out of the JWT authorizer (Auth.Authorizer NONE).
	Public bool
	// Scopes the JWT authorizer requires (one of them), if any.
	Scopes []string
}

// Key is the route key ("PUT /invoices/{invoiceId}").
func (r Route) Key() string { return r.Method + " " + r.Path }

// Routes lists every HttpApi event of every function, sorted by route key.
func (t *Template) Routes() []Route {
	var routes []Route
	for _, fn := range t.Resources("AWS::Serverless::Function") {
		events := Get(fn.Properties, "Events")
		for _, name := range Keys(events) {
			ev := Get(events, name)
			if v := Get(ev, "Type"); v == nil || v.Value != "HttpApi" {
				continue
			}
			p := Get(ev, "Properties")
			r := Route{Function: fn.Name, Method: strings.ToUpper(value(Get(p, "Method"))), Path: value(Get(p, "Path"))}
			r.Public = value(Get(p, "Auth", "Authorizer")) == "NONE"
			r.Scopes = Strings(Get(p, "Auth", "AuthorizationScopes"))
			routes = append(routes, r)
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].Key() < routes[j].Key() })
	return routes
}

func value(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// CreateTableInput turns the template's AWS::DynamoDB::Table resource into
// the CreateTable call that makes the same table, plus its TTL attribute
// ("" when TTL is off).
func (t *Template) CreateTableInput(logicalID, tableName string) (*dynamodb.CreateTableInput, string, error) {
	var props *yaml.Node
	for _, r := range t.Resources("AWS::DynamoDB::Table") {
		if r.Name == logicalID {
			props = r.Properties
		}
	}
	if props == nil {
		return nil, "", fmt.Errorf("no table %s in the template", logicalID)
	}
	in := &dynamodb.CreateTableInput{TableName: &tableName, BillingMode: ddbtypes.BillingModePayPerRequest}
	for _, a := range Get(props, "AttributeDefinitions").Content {
		name, typ := value(Get(a, "AttributeName")), value(Get(a, "AttributeType"))
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: &name, AttributeType: ddbtypes.ScalarAttributeType(typ)})
	}
	in.KeySchema = keySchema(Get(props, "KeySchema"))
	if gsis := Get(props, "GlobalSecondaryIndexes"); gsis != nil {
		for _, g := range gsis.Content {
			name := value(Get(g, "IndexName"))
			idx := ddbtypes.GlobalSecondaryIndex{IndexName: &name, KeySchema: keySchema(Get(g, "KeySchema")),
				Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(value(Get(g, "Projection", "ProjectionType")))}}
			idx.Projection.NonKeyAttributes = Strings(Get(g, "Projection", "NonKeyAttributes"))
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, idx)
		}
	}
	ttl := ""
	if value(Get(props, "TimeToLiveSpecification", "Enabled")) == "true" {
		ttl = value(Get(props, "TimeToLiveSpecification", "AttributeName"))
	}
	return in, ttl, nil
}

func keySchema(n *yaml.Node) []ddbtypes.KeySchemaElement {
	var out []ddbtypes.KeySchemaElement
	if n == nil {
		return nil
	}
	for _, k := range n.Content {
		name := value(Get(k, "AttributeName"))
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: &name, KeyType: ddbtypes.KeyType(value(Get(k, "KeyType")))})
	}
	return out
}

// Parse reads a template from its YAML text.
func Parse(text []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("template: not a YAML mapping")
	}
	return &Template{root: doc.Content[0]}, nil
}

// Root is the template's top-level mapping.
func (t *Template) Root() *yaml.Node { return t.root }

// Resource returns one resource by logical id (ok false when missing).
func (t *Template) Resource(name string) (Resource, bool) {
	for _, r := range t.Resources("") {
		if r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

// FunctionProperty is a function's property, or the Globals' when the
// function does not set it (SAM merges the two that way for scalars).
func (t *Template) FunctionProperty(fn Resource, keys ...string) *yaml.Node {
	if v := Get(fn.Properties, keys...); v != nil {
		return v
	}
	return Get(t.Globals("Function"), keys...)
}
