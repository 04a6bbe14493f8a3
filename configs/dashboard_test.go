package configs_test

import (
	"strings"
	"testing"

	"github.com/cns-dev/cns/configs"
)

// testHash has the shape of a bcrypt hash; the loader checks only the shape (the dashboard verifies it).
const testHash = "$2a$04$Q9m0k8m2Wv6x3lE3sJg1a.3y0bJ6m2ZrZr1Qy0n7yv8m1Zk3fQw5e"

func TestDashboardUsersFromEnvironment(t *testing.T) {
	t.Parallel()
	l, err := configs.Load(configs.Options{Environ: env(
		"CNS_DASHBOARD__USERS__ALICE__PASSWORD_HASH="+testHash,
		"CNS_DASHBOARD__USERS__ALICE__ROLE=operator",
		"CNS_DASHBOARD__USERS__ALICE__PROJECT=acme",
		"CNS_DASHBOARD_REFRESH_INTERVAL=250ms",
		"CNS_DASHBOARD_SESSION_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	)})
	if err != nil {
		t.Fatal(err)
	}
	u := l.Dashboard.Users["alice"]
	if u.Role != "operator" || u.Project != "acme" || u.PasswordHash != testHash || l.Dashboard.RefreshInterval.Milliseconds() != 250 {
		t.Fatalf("dashboard config wrong: %+v", l.Dashboard)
	}
	for _, e := range l.Entries() {
		if (e.Key == "dashboard.users.alice.password_hash" || e.Key == "dashboard.session_key") && (!e.Secret || e.Value != "[redacted]") {
			t.Errorf("%s not redacted: %+v", e.Key, e)
		}
	}
}

func TestDashboardProblemsListed(t *testing.T) {
	t.Parallel()
	_, err := configs.Load(configs.Options{Environ: env(
		"CNS_DASHBOARD__USERS__BOB__PASSWORD_HASH=plaintext-password",
		"CNS_DASHBOARD__USERS__BOB__ROLE=admin",
		"CNS_DASHBOARD_SESSION_KEY=c2hvcnQ=",
		"CNS_DASHBOARD_REFRESH_INTERVAL=1ms",
	)})
	list, ok := configs.AsProblems(err)
	if !ok {
		t.Fatalf("want problems, got %v", err)
	}
	for _, want := range []string{"dashboard.users.bob.password_hash", "dashboard.users.bob.role", "dashboard.session_key", "dashboard.refresh_interval"} {
		found := false
		for _, p := range list {
			found = found || strings.HasPrefix(p, want)
		}
		if !found {
			t.Errorf("problem %q not reported in %v", want, list)
		}
	}
	if strings.Contains(err.Error(), "plaintext-password") || strings.Contains(err.Error(), "c2hvcnQ=") {
		t.Error("a secret leaked into the error")
	}
}
