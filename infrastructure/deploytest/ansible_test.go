//go:build deploy

package deploytest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cns-dev/cns/configs"
)

// TestAnsibleLint runs ansible-lint with the production profile over the roles, playbooks and example
// inventory.
func TestAnsibleLint(t *testing.T) {
	t.Parallel()
	need(t, "ansible-lint")
	out := run(t, ansibleDir(t), ansibleEnv(t), "ansible-lint", "--offline", "--nocolor", "--profile", "production")
	if !strings.Contains(out, "Passed with production profile") {
		t.Fatalf("ansible-lint did not pass the production profile:\n%s", out)
	}
}

// TestSyntaxCheck runs ansible-playbook --syntax-check on both playbooks with the example inventory.
func TestSyntaxCheck(t *testing.T) {
	t.Parallel()
	need(t, "ansible-playbook")
	for _, pb := range []string{"site.yml", "rolling-update.yml"} {
		run(t, ansibleDir(t), ansibleEnv(t), "ansible-playbook", "--syntax-check", "-i", "inventory/example/hosts.yml", pb)
	}
}

// TestRoleSettings: the keys the role renders from its own variables (and refuses in cns_settings) are
// keys of the binary, and the template renders each. Every other key is validated at deploy time against
// the installed binary's own list (cns config check), so the role cannot drift from the binary.
func TestRoleSettings(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(ansibleDir(t), "roles", "cns_service", "vars", "main.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var vars struct {
		Role []string `yaml:"cns_role_settings"`
	}
	if err := yaml.Unmarshal(raw, &vars); err != nil {
		t.Fatal(err)
	}
	if len(vars.Role) < 10 {
		t.Fatalf("cns_role_settings has %d keys", len(vars.Role))
	}
	var known []string
	for k := range configs.Defaults() {
		known = append(known, k)
	}
	if extra := minus(vars.Role, known); len(extra) > 0 {
		t.Errorf("cns_role_settings has keys the binary does not know: %v", extra)
	}
	tmpl, err := os.ReadFile(filepath.Join(ansibleDir(t), "roles", "cns_service", "templates", "cns.env.j2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range vars.Role {
		if !strings.Contains(string(tmpl), configs.EnvName(k)+"=") {
			t.Errorf("cns.env.j2 does not render %s (%s), which the role sets itself", configs.EnvName(k), k)
		}
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
