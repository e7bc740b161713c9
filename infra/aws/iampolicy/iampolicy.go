// Package iampolicy evaluates identity-based IAM policies, in exactly the
// part of the policy grammar template.yaml uses, so that tests can decide
// what AWS would decide for a call: Allow and Deny statements with Action,
// Resource (glob patterns, as IAM matches them) and the StringEquals
// condition operator. Anything else in a policy (NotAction, NotResource,
// Principal, other condition operators) is refused when the policy is read,
// rather than evaluated loosely: a policy this package cannot judge must
// not pass a test.
//
// It is not a general IAM engine: no resource-based policies, permission
// boundaries, SCPs or session policies; a function's role has none.
package iampolicy

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Version is the only policy language version accepted.
const Version = "2012-10-17"

// Effect is a statement's effect.
type Effect string

// Effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Statement is one statement of a policy.
type Statement struct {
	Sid        string
	Effect     Effect
	Actions    []string
	Resources  []string
	Conditions []Condition
}

// Condition is one key under one operator: the request's value for Key
// must match one of Values.
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// Policy is the statements of one or more policy documents together (a
// role's inline policies are evaluated as one).
type Policy struct {
	Statements []Statement
}

// Request is one action on one resource, as IAM authorizes it. A call that
// touches several resources (SES's identity and configuration set, a batch
// over two tables) is several requests, each of which must be allowed.
type Request struct {
	Action   string
	Resource string
	// Context holds the request's condition keys (e.g. ses:FromAddress).
	Context map[string]string
}

func (r Request) String() string {
	s := r.Action + " on " + r.Resource
	if len(r.Context) > 0 {
		keys := make([]string, 0, len(r.Context))
		for k := range r.Context {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + r.Context[k]
		}
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// Decision is the outcome of an evaluation.
type Decision int

// Decisions, as IAM names them.
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allowed"
	case ExplicitDeny:
		return "explicitly denied"
	}
	return "not allowed (no statement allows it)"
}

// Parse reads policy documents given as plain values (the resolved YAML or
// JSON: maps, lists, strings) into one Policy.
func Parse(docs ...any) (*Policy, error) {
	p := &Policy{}
	for i, doc := range docs {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("policy %d: not a policy document (a mapping with Version and Statement)", i)
		}
		for k := range m {
			if k != "Version" && k != "Statement" {
				return nil, fmt.Errorf("policy %d: %s is not supported by this evaluator", i, k)
			}
		}
		if v, _ := m["Version"].(string); v != Version {
			return nil, fmt.Errorf("policy %d: Version must be %q, got %v", i, Version, m["Version"])
		}
		sts, ok := m["Statement"].([]any)
		if !ok {
			if one, isMap := m["Statement"].(map[string]any); isMap {
				sts = []any{one}
			} else {
				return nil, fmt.Errorf("policy %d: Statement must be a statement or a list of them", i)
			}
		}
		for j, raw := range sts {
			st, err := parseStatement(raw)
			if err != nil {
				return nil, fmt.Errorf("policy %d, statement %d: %w", i, j, err)
			}
			p.Statements = append(p.Statements, st)
		}
	}
	return p, nil
}

// operators are the condition operators evaluated.
var operators = map[string]bool{"StringEquals": true}

func parseStatement(raw any) (Statement, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return Statement{}, fmt.Errorf("not a mapping")
	}
	var st Statement
	for k, v := range m {
		var err error
		switch k {
		case "Sid":
			st.Sid, _ = v.(string)
		case "Effect":
			e, _ := v.(string)
			if e != string(Allow) && e != string(Deny) {
				return st, fmt.Errorf("Effect must be Allow or Deny, got %v", v)
			}
			st.Effect = Effect(e)
		case "Action":
			st.Actions, err = strings1(v)
		case "Resource":
			st.Resources, err = strings1(v)
		case "Condition":
			st.Conditions, err = parseConditions(v)
		default:
			return st, fmt.Errorf("%s is not supported by this evaluator", k)
		}
		if err != nil {
			return st, fmt.Errorf("%s: %w", k, err)
		}
	}
	switch {
	case st.Effect == "":
		return st, fmt.Errorf("no Effect")
	case len(st.Actions) == 0:
		return st, fmt.Errorf("no Action")
	case len(st.Resources) == 0:
		return st, fmt.Errorf("no Resource")
	}
	return st, nil
}

func parseConditions(v any) ([]Condition, error) {
	ops, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a mapping of operators")
	}
	var out []Condition
	for op, raw := range ops {
		if !operators[op] {
			return nil, fmt.Errorf("operator %s is not supported by this evaluator", op)
		}
		keys, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not a mapping of keys", op)
		}
		for key, vals := range keys {
			values, err := strings1(vals)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", op, key, err)
			}
			out = append(out, Condition{Operator: op, Key: key, Values: values})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Operator+out[i].Key < out[j].Operator+out[j].Key })
	return out, nil
}

// strings1 reads a string or a non-empty list of strings.
func strings1(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", x)
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("empty list")
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is neither a string nor a list of strings", v)
}

// Evaluate decides a request as IAM does for an identity policy: an
// explicit Deny wins, else an Allow that matches allows, else it is denied.
func (p *Policy) Evaluate(r Request) Decision {
	d := ImplicitDeny
	for _, st := range p.Statements {
		if !st.matches(r) {
			continue
		}
		if st.Effect == Deny {
			return ExplicitDeny
		}
		d = Allowed
	}
	return d
}

func (st Statement) matches(r Request) bool {
	if !slices.ContainsFunc(st.Actions, func(a string) bool { return Match(strings.ToLower(a), strings.ToLower(r.Action)) }) {
		return false
	}
	if !slices.ContainsFunc(st.Resources, func(pat string) bool { return Match(pat, r.Resource) }) {
		return false
	}
	for _, c := range st.Conditions {
		if !c.holds(r.Context) {
			return false
		}
	}
	return true
}

// holds: condition keys are case-insensitive, StringEquals values are
// compared exactly, after policy variables (${aws:PrincipalAccount}) are
// replaced with the request's value of that key; a key the request lacks
// fails the condition.
func (c Condition) holds(ctx map[string]string) bool {
	for k, v := range ctx {
		if strings.EqualFold(k, c.Key) {
			return slices.ContainsFunc(c.Values, func(want string) bool {
				expanded, ok := expand(want, ctx)
				return ok && expanded == v
			})
		}
	}
	return false
}

// expand replaces ${key} in a condition value with the request's value of
// key; ok is false when the request lacks one (IAM then fails the
// condition).
func expand(s string, ctx map[string]string) (string, bool) {
	ok := true
	out := policyVariable.ReplaceAllStringFunc(s, func(m string) string {
		key := m[2 : len(m)-1]
		for k, v := range ctx {
			if strings.EqualFold(k, key) {
				return v
			}
		}
		ok = false
		return m
	})
	return out, ok
}

var policyVariable = regexp.MustCompile(`\$\{[A-Za-z0-9:/_-]+\}`)

// Match reports whether s matches an IAM pattern, where * stands for any
// run of characters (none included) and ? for exactly one.
func Match(pattern, s string) bool {
	// Iterative wildcard matching with backtracking to the last *.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Actions lists the distinct actions the policy's Allow statements name,
// sorted.
func (p *Policy) Actions() []string {
	seen := map[string]bool{}
	var out []string
	for _, st := range p.Statements {
		if st.Effect != Allow {
			continue
		}
		for _, a := range st.Actions {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Without returns a copy of the policy with action taken out of every
// statement (a statement left without actions is dropped).
func (p *Policy) Without(action string) *Policy {
	out := &Policy{}
	for _, st := range p.Statements {
		st.Actions = slices.DeleteFunc(slices.Clone(st.Actions), func(a string) bool { return strings.EqualFold(a, action) })
		if len(st.Actions) > 0 {
			out.Statements = append(out.Statements, st)
		}
	}
	return out
}
