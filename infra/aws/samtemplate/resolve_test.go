package samtemplate_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

const resolveTemplate = `
Parameters:
  Stage: {Type: String, Default: dev}
  SesConfigurationSet: {Type: String, Default: ""}
  SenderEmail: {Type: String}
  Audience: {Type: CommaDelimitedList, Default: "a, b"}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  HasSet: !Not [!Equals [!Ref SesConfigurationSet, ""]]
  Both: !And [!Condition IsProd, !Condition HasSet]
  Either: {"Fn::Or": [{"Condition": IsProd}, {"Condition": HasSet}]}
Resources:
  Table: {Type: AWS::DynamoDB::Table}
Values:
  ref: !Ref Table
  refParam: !Ref Stage
  list: !Ref Audience
  getatt: !GetAtt Table.Arn
  getattList: !GetAtt [Table, Arn]
  getattLong: {"Fn::GetAtt": [Table, Arn]}
  sub: !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderEmail}
  subAttr: !Sub "${Table.Arn}/index/*"
  subVars: !Sub ["${Name}-${AWS::StackName}", {Name: !Ref Stage}]
  ifList:
    - first
    - !If [HasSet, !Sub "set/${SesConfigurationSet}", !Ref AWS::NoValue]
  ifLong: {"Fn::If": [IsProd, yes, {"Ref": "AWS::NoValue"}]}
  ifMap:
    Keep: kept
    Drop: !If [IsProd, shown, !Ref AWS::NoValue]
  both: !If [Both, yes, no]
  either: !If [Either, yes, no]
  join: !Join ["-", [a, !Ref Stage]]
  select: !Select [1, [x, y]]
  split: !Split [",", "a,b"]
  splitLong: {"Fn::Split": [",", !Ref Stage]}
  unknown: !FindInMap [M, a, b]
  missing: !Ref Nowhere
  noParam: !Ref SenderEmailMissing
`

func TestResolve(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(resolveTemplate))
	if err != nil {
		t.Fatal(err)
	}
	base := samtemplate.Stack{
		Params: map[string]string{"SenderEmail": "factures@x.example"},
		Region: "ca-central-1", AccountID: "123456789012", Partition: "aws", StackName: "clinicpay-dev",
		Refs:  map[string]string{"Table": "clinicpay-dev-Table-1"},
		Attrs: map[string]string{"Table.Arn": "arn:aws:dynamodb:ca-central-1:123456789012:table/clinicpay-dev-Table-1"},
	}
	prod := base
	prod.Params = map[string]string{"SenderEmail": "factures@x.example", "Stage": "prod", "SesConfigurationSet": "cs"}
	arn := base.Attrs["Table.Arn"]
	cases := []struct {
		key   string
		stack samtemplate.Stack
		want  any
	}{
		{"ref", base, "clinicpay-dev-Table-1"},
		{"refParam", base, "dev"},
		{"refParam", prod, "prod"},
		{"list", base, []any{"a", "b"}},
		{"getatt", base, arn},
		{"getattList", base, arn},
		{"getattLong", base, arn},
		{"sub", base, "arn:aws:ses:ca-central-1:123456789012:identity/factures@x.example"},
		{"subAttr", base, arn + "/index/*"},
		{"subVars", base, "dev-clinicpay-dev"},
		{"ifList", base, []any{"first"}},
		{"ifList", prod, []any{"first", "set/cs"}},
		{"ifLong", base, nil},
		{"ifLong", prod, "yes"},
		{"ifMap", base, map[string]any{"Keep": "kept"}},
		{"ifMap", prod, map[string]any{"Keep": "kept", "Drop": "shown"}},
		{"both", base, "no"},
		{"both", prod, "yes"},
		{"either", base, "no"},
		{"either", prod, "yes"},
		{"join", base, "a-dev"},
		{"select", base, "y"},
		{"split", base, []any{"a", "b"}},
		{"splitLong", base, []any{"dev"}},
	}
	for _, c := range cases {
		got, err := tpl.Resolve(samtemplate.Get(tpl.Root(), "Values", c.key), c.stack)
		if err != nil {
			t.Errorf("%s: %v", c.key, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s (Stage %s): %#v, want %#v", c.key, c.stack.Params["Stage"], got, c.want)
		}
	}
	if v, err := tpl.Resolve(samtemplate.Get(tpl.Root(), "Values", "absent"), base); v != nil || err != nil {
		t.Errorf("an absent property: %v, %v", v, err)
	}
	for key, want := range map[string]string{"unknown": "FindInMap", "missing": "Nowhere", "noParam": "SenderEmailMissing"} {
		if _, err := tpl.Resolve(samtemplate.Get(tpl.Root(), "Values", key), base); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %s", key, err, want)
		}
	}
}
