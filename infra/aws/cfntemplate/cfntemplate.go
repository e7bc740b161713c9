// Package cfntemplate holds template.yaml as AWS builds it: translated by
// AWS's own aws-sam-translator (the library behind the
// AWS::Serverless-2016-10-31 transform CloudFormation runs at sam deploy),
// for the parameter values of an environment in samconfig.toml. Tests
// check the translation, not the SAM source: where the project's own reader
// (infra/aws/samtemplate) and the translator disagree, the translation is what
// gets deployed.
package cfntemplate

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

//go:embed translate.py
var script string

// Translated is a CloudFormation template produced by the translator. Its
// embedded Template reads and resolves it like the SAM source (JSON is
// YAML, and the resolver knows the long forms: Ref, Fn::GetAtt, Fn::Sub…).
type Translated struct {
	*samtemplate.Template
	// JSON is the translated template as the translator printed it
	// (compact), SourceSize the size of the SAM template it came from.
	JSON       []byte
	SourceSize int
}

// Translate runs the translator (python3 and aws-sam-translator, which
// the Makefile installs where missing) on a SAM template's text with the
// given parameter values.
func Translate(ctx context.Context, source []byte, params map[string]string) (*Translated, error) {
	args := []string{"-c", script, "-"}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "--param", k+"="+params[k])
	}
	cmd := exec.CommandContext(ctx, "python3", args...)
	cmd.Stdin = bytes.NewReader(source)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("aws-sam-translator (make tools installs it): %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	t, err := samtemplate.Parse(out)
	if err != nil {
		return nil, fmt.Errorf("the translated template: %w", err)
	}
	return &Translated{Template: t, JSON: out, SourceSize: len(source)}, nil
}

// TranslateRepo translates the repository's template.yaml for one
// environment of samconfig.toml (dev, prod).
func TranslateRepo(ctx context.Context, env string) (*Translated, error) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		return nil, err
	}
	source, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	params, err := Parameters(env)
	if err != nil {
		return nil, err
	}
	return Translate(ctx, source, params)
}

// Parameters reads an environment's parameter_overrides from the
// repository's samconfig.toml: the values sam deploy hands CloudFormation.
func Parameters(env string) (map[string]string, error) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		return nil, err
	}
	return ParseOverrides(string(b), env)
}

var (
	tableHeader = regexp.MustCompile(`(?m)^\[([^\]]+)\]\s*$`)
	override    = regexp.MustCompile(`"([A-Za-z0-9]+)=((?:[^"\\]|\\.)*)"`)
)

// ParseOverrides reads the parameter_overrides list of the table
// [<env>.deploy.parameters] of a samconfig.toml (the project writes it as
// a TOML array of "Name=Value" strings).
func ParseOverrides(samconfig, env string) (map[string]string, error) {
	want := env + ".deploy.parameters"
	heads := tableHeader.FindAllStringSubmatchIndex(samconfig, -1)
	for i, h := range heads {
		if samconfig[h[2]:h[3]] != want {
			continue
		}
		end := len(samconfig)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		body := samconfig[h[1]:end]
		_, list, ok := strings.Cut(body, "parameter_overrides = [")
		if !ok {
			return nil, fmt.Errorf("samconfig.toml [%s]: no parameter_overrides list", want)
		}
		list, _, _ = strings.Cut(list, "]")
		out := map[string]string{}
		for _, m := range override.FindAllStringSubmatch(list, -1) {
			out[m[1]] = strings.ReplaceAll(m[2], `\"`, `"`)
		}
		return out, nil
	}
	return nil, fmt.Errorf("samconfig.toml has no [%s]", want)
}
