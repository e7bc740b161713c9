package iamcheck

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/clinicpay/payments/infra/aws/iampolicy"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// Policies reads every function's inline policies from the template,
// resolved for a stack, one Policy per function (by logical id).
func Policies(t *samtemplate.Template, s samtemplate.Stack) (map[string]*iampolicy.Policy, error) {
	out := map[string]*iampolicy.Policy{}
	for _, fn := range t.Resources("AWS::Serverless::Function") {
		var docs []any
		if n := samtemplate.Get(fn.Properties, "Policies"); n != nil {
			v, err := t.Resolve(n, s)
			if err != nil {
				return nil, fmt.Errorf("%s: Policies: %w", fn.Name, err)
			}
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: Policies is not a list", fn.Name)
			}
			docs = list
		}
		p, err := iampolicy.Parse(docs...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name, err)
		}
		out[fn.Name] = p
	}
	return out, nil
}

// TranslatedPolicies reads each function's role from a template as AWS's
// SAM translator built it (infra/aws/cfntemplate): the AWS::Lambda::Function's
// Role names an AWS::IAM::Role, whose inline policies, resolved for a
// stack, are one Policy per function (by logical id). This is what IAM
// will hold the code to, whatever the SAM source says. The policies SAM
// adds for a function's asynchronous invocation destinations are left out:
// the Lambda service sends there with the role, the code never does, and
// no recorded call could show them needed.
func TranslatedPolicies(t *samtemplate.Template, s samtemplate.Stack) (map[string]*iampolicy.Policy, error) {
	out := map[string]*iampolicy.Policy{}
	for _, fn := range t.Resources("AWS::Lambda::Function") {
		role := samtemplate.Get(fn.Properties, "Role")
		var att struct {
			GetAtt []string `yaml:"Fn::GetAtt"`
		}
		if role == nil || role.Decode(&att) != nil || len(att.GetAtt) != 2 || att.GetAtt[1] != "Arn" {
			return nil, fmt.Errorf("%s: Role is not a role of the template", fn.Name)
		}
		ref := att.GetAtt
		r, ok := t.Resource(ref[0])
		if !ok || r.Type != "AWS::IAM::Role" {
			return nil, fmt.Errorf("%s: role %s is not in the template", fn.Name, ref[0])
		}
		var docs []any
		if policies := samtemplate.Get(r.Properties, "Policies"); policies != nil {
			for _, p := range policies.Content {
				if destinationPolicy.MatchString(samtemplate.Get(p, "PolicyName").Value) {
					continue
				}
				doc, err := t.Resolve(samtemplate.Get(p, "PolicyDocument"), s)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", ref[0], err)
				}
				docs = append(docs, doc)
			}
		}
		p, err := iampolicy.Parse(docs...)
		if err != nil {
			return nil, fmt.Errorf("%s (role %s): %w", fn.Name, ref[0], err)
		}
		out[fn.Name] = p
	}
	return out, nil
}

// destinationPolicy is how SAM names the policy of an EventInvokeConfig
// destination (<Function>EventInvokeConfigOnFailureSQSPolicy…).
var destinationPolicy = regexp.MustCompile(`EventInvokeConfigOn(Success|Failure)\w*Policy$`)

// Calls reads every call the proxies recorded that a function made.
func Calls(acct Account, proxies ...*faultproxy.Proxy) ([]Call, []error) {
	var calls []Call
	var errs []error
	for _, p := range proxies {
		for _, r := range p.Requests(nil) {
			c, ok, err := Parse(r, acct)
			if err != nil {
				errs = append(errs, err)
			}
			if ok && err == nil {
				calls = append(calls, c)
			}
		}
	}
	return calls, errs
}

// Finding is one result of a check, about one function (and one action).
type Finding struct {
	Function string
	Action   string
	Message  string
}

func (f Finding) String() string { return f.Message }

// Denied lists every request of every call that its function's policy does
// not allow (each distinct function, API and request once).
func Denied(policies map[string]*iampolicy.Policy, calls []Call) []Finding {
	seen := map[string]bool{}
	var out []Finding
	for _, c := range calls {
		p := policies[c.Function]
		for _, r := range c.Requests {
			d := iampolicy.ImplicitDeny
			if p != nil {
				d = p.Evaluate(r)
			}
			if d == iampolicy.Allowed {
				continue
			}
			msg := fmt.Sprintf("%s: %s is %s by its policy in template.yaml (call %s)", c.Function, r, d, c.API)
			if p == nil {
				msg = fmt.Sprintf("%s: %s, but template.yaml has no such function (call %s)", c.Function, r, c.API)
			}
			if !seen[msg] {
				seen[msg] = true
				out = append(out, Finding{Function: c.Function, Action: r.Action, Message: msg})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
	return out
}

// Necessity takes each action out of each function's policy in turn and
// looks for a recorded call of that function that is then denied. shown
// names, for each action, the call that needs it; unused lists the actions
// no recorded call needs (the policy grants more than is used, or the tests
// miss the path that uses it).
func Necessity(policies map[string]*iampolicy.Policy, calls []Call) (shown, unused []Finding) {
	byFunction := map[string][]Call{}
	for _, c := range calls {
		byFunction[c.Function] = append(byFunction[c.Function], c)
	}
	names := make([]string, 0, len(policies))
	for name := range policies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, fn := range names {
		p := policies[fn]
		for _, action := range p.Actions() {
			without := p.Without(action)
			f, needed := firstDenied(fn, p, without, byFunction[fn])
			if needed {
				f.Action = action
				f.Message = fmt.Sprintf("%s without %s: %s", fn, action, f.Message)
				shown = append(shown, f)
				continue
			}
			unused = append(unused, Finding{Function: fn, Action: action, Message: fmt.Sprintf(
				"%s: %s is in its policy in template.yaml but no call of the function in the tests needs it: take it out, or test the path that uses it", fn, action)})
		}
	}
	return shown, unused
}

// firstDenied finds a call the full policy allows and the reduced one does
// not.
func firstDenied(fn string, full, reduced *iampolicy.Policy, calls []Call) (Finding, bool) {
	for _, c := range calls {
		for _, r := range c.Requests {
			if full.Evaluate(r) == iampolicy.Allowed && reduced.Evaluate(r) != iampolicy.Allowed {
				return Finding{Function: fn, Message: fmt.Sprintf("%s is %s (call %s)", r, reduced.Evaluate(r), c.API)}, true
			}
		}
	}
	return Finding{}, false
}
