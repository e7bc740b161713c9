package samtemplate

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Stack is what the template's intrinsic functions resolve against: the
// parameter values, the pseudo parameters and each resource's Ref and
// attributes, as one deployed stack (or the local stack) has them.
type Stack struct {
	// Params override the parameters' defaults.
	Params map[string]string
	// Pseudo parameters.
	Region, AccountID, Partition, StackName, URLSuffix string
	// Refs is each resource's Ref value (its physical id), by logical id.
	Refs map[string]string
	// Attrs is each resource attribute's value, by "LogicalId.Attribute".
	Attrs map[string]string
}

// noValue is what !Ref AWS::NoValue resolves to: the property (or list
// item) is left out.
type noValue struct{}

// Resolve evaluates the intrinsic functions in a template node for a stack
// and returns plain values: strings, []any and map[string]any. It knows the
// functions the template uses (Ref, GetAtt, Sub, If with its conditions,
// Equals, Not, And, Or, Join, Split, Select, AWS::NoValue); any other is an error.
// An absent node (nil) resolves to nil.
func (t *Template) Resolve(n *yaml.Node, s Stack) (any, error) {
	if n == nil {
		return nil, nil // an absent property
	}
	r := resolver{t: t, s: s, conditions: map[string]bool{}}
	v, err := r.node(n)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(noValue); ok {
		return nil, nil
	}
	return v, nil
}

// Condition evaluates one of the template's Conditions for a stack.
func (t *Template) Condition(name string, s Stack) (bool, error) {
	r := resolver{t: t, s: s, conditions: map[string]bool{}}
	return r.condition(name)
}

type resolver struct {
	t          *Template
	s          Stack
	conditions map[string]bool
	evaluating []string
}

func (r *resolver) node(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return r.node(n.Alias)
	case yaml.ScalarNode:
		switch n.Tag {
		case "!Ref":
			return r.ref(n.Value)
		case "!GetAtt":
			return r.getAtt(n.Value)
		case "!Sub":
			return r.sub(n.Value, nil)
		case "!Condition":
			return r.condition(n.Value)
		case "", "!", "!!str", "!!int", "!!float", "!!bool", "!!null":
			return n.Value, nil
		}
		return nil, fmt.Errorf("line %d: %s is not supported here", n.Line, n.Tag)
	case yaml.SequenceNode:
		function := n.Tag != "" && n.Tag != "!!seq"
		items := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := r.node(c)
			if err != nil {
				return nil, err
			}
			// AWS::NoValue leaves a list item out, not a function's argument.
			if _, skip := v.(noValue); !skip || function {
				items = append(items, v)
			}
		}
		if function {
			return r.function(strings.TrimPrefix(n.Tag, "!"), items, n.Line)
		}
		return items, nil
	case yaml.MappingNode:
		if n.Tag != "" && n.Tag != "!!map" {
			return nil, fmt.Errorf("line %d: %s on a mapping is not supported", n.Line, n.Tag)
		}
		if len(n.Content) == 2 {
			key := n.Content[0].Value
			if key == "Ref" || key == "Condition" || strings.HasPrefix(key, "Fn::") {
				argNode := n.Content[1]
				if argNode.Kind == yaml.SequenceNode && (argNode.Tag == "" || argNode.Tag == "!!seq") {
					// The long form's argument list: evaluate it as the
					// short form's, AWS::NoValue arguments included.
					c := *argNode
					c.Tag = "!" + strings.TrimPrefix(key, "Fn::")
					if key != "Ref" && key != "Condition" {
						return r.node(&c)
					}
				}
				arg, err := r.node(argNode)
				if err != nil {
					return nil, err
				}
				switch key {
				case "Ref":
					name, _ := arg.(string)
					return r.ref(name)
				case "Condition":
					name, _ := arg.(string)
					return r.condition(name)
				case "Fn::GetAtt":
					if s, ok := arg.(string); ok {
						return r.getAtt(s)
					}
				case "Fn::Sub":
					if s, ok := arg.(string); ok {
						return r.sub(s, nil)
					}
				}
				list, _ := arg.([]any)
				return r.function(strings.TrimPrefix(key, "Fn::"), list, n.Line)
			}
		}
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := r.node(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			if _, skip := v.(noValue); !skip {
				m[n.Content[i].Value] = v
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// function applies an intrinsic function to its (resolved) arguments.
func (r *resolver) function(name string, args []any, line int) (any, error) {
	bad := func() (any, error) {
		return nil, fmt.Errorf("line %d: Fn::%s: unexpected arguments %v", line, name, args)
	}
	switch name {
	case "GetAtt":
		if len(args) != 2 {
			return bad()
		}
		return r.getAtt(fmt.Sprint(args[0]) + "." + fmt.Sprint(args[1]))
	case "Sub":
		vars, ok := map[string]any(nil), len(args) == 2
		if ok {
			vars, ok = args[1].(map[string]any)
		}
		s, isString := args[0].(string)
		if !ok || !isString {
			return bad()
		}
		return r.sub(s, vars)
	case "If":
		cond, ok := args[0].(string)
		if len(args) != 3 || !ok {
			return bad()
		}
		yes, err := r.condition(cond)
		if err != nil {
			return nil, err
		}
		if yes {
			return args[1], nil
		}
		return args[2], nil
	case "Equals":
		if len(args) != 2 {
			return bad()
		}
		return fmt.Sprint(args[0]) == fmt.Sprint(args[1]), nil
	case "Not", "And", "Or":
		var bools []bool
		for _, a := range args {
			b, ok := a.(bool)
			if !ok {
				return bad()
			}
			bools = append(bools, b)
		}
		switch {
		case name == "Not" && len(bools) == 1:
			return !bools[0], nil
		case name == "And" && len(bools) >= 2:
			for _, b := range bools {
				if !b {
					return false, nil
				}
			}
			return true, nil
		case name == "Or" && len(bools) >= 2:
			for _, b := range bools {
				if b {
					return true, nil
				}
			}
			return false, nil
		}
		return bad()
	case "Join":
		list, ok := args[1].([]any)
		sep, isString := args[0].(string)
		if len(args) != 2 || !ok || !isString {
			return bad()
		}
		parts := make([]string, len(list))
		for i, p := range list {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, sep), nil
	case "Split":
		if len(args) != 2 {
			return bad()
		}
		sep, isString := args[0].(string)
		s, ok := args[1].(string)
		if !isString || !ok {
			return bad()
		}
		out := []any{}
		for _, part := range strings.Split(s, sep) {
			out = append(out, part)
		}
		return out, nil
	case "Select":
		list, ok := args[1].([]any)
		var i int
		if _, err := fmt.Sscan(fmt.Sprint(args[0]), &i); err != nil || !ok || i < 0 || i >= len(list) {
			return bad()
		}
		return list[i], nil
	}
	return nil, fmt.Errorf("line %d: Fn::%s is not supported", line, name)
}

func (r *resolver) ref(name string) (any, error) {
	switch name {
	case "AWS::NoValue":
		return noValue{}, nil
	case "AWS::Region":
		return r.s.Region, nil
	case "AWS::AccountId":
		return r.s.AccountID, nil
	case "AWS::Partition":
		return r.s.Partition, nil
	case "AWS::StackName":
		return r.s.StackName, nil
	case "AWS::URLSuffix":
		return r.s.URLSuffix, nil
	}
	if p := Get(r.t.root, "Parameters", name); p != nil {
		v, ok := r.s.Params[name]
		if !ok {
			d := Get(p, "Default")
			if d == nil {
				return nil, fmt.Errorf("parameter %s has no value and no default", name)
			}
			v = d.Value
		}
		if value(Get(p, "Type")) == "CommaDelimitedList" {
			var out []any
			for _, s := range strings.Split(v, ",") {
				out = append(out, strings.TrimSpace(s))
			}
			return out, nil
		}
		return v, nil
	}
	if v, ok := r.s.Refs[name]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("!Ref %s: no such parameter, and the stack gives that resource no value", name)
}

func (r *resolver) getAtt(name string) (any, error) {
	if v, ok := r.s.Attrs[name]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("!GetAtt %s: the stack gives that attribute no value", name)
}

var subVar = regexp.MustCompile(`\$\{([^}!]+)\}`)

func (r *resolver) sub(s string, vars map[string]any) (any, error) {
	var err error
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		var v any
		var e error
		switch {
		case vars[name] != nil:
			v = vars[name]
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			v, e = r.getAtt(name)
		default:
			v, e = r.ref(name)
		}
		if e != nil && err == nil {
			err = e
		}
		return fmt.Sprint(v)
	})
	return out, err
}

func (r *resolver) condition(name string) (bool, error) {
	if v, ok := r.conditions[name]; ok {
		return v, nil
	}
	for _, e := range r.evaluating {
		if e == name {
			return false, fmt.Errorf("condition %s refers to itself", name)
		}
	}
	n := Get(r.t.root, "Conditions", name)
	if n == nil {
		return false, fmt.Errorf("no condition %s in the template", name)
	}
	r.evaluating = append(r.evaluating, name)
	v, err := r.node(n)
	r.evaluating = r.evaluating[:len(r.evaluating)-1]
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is not a boolean", name)
	}
	r.conditions[name] = b
	return b, nil
}
