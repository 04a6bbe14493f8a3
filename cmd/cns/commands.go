package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/internal/logging"
)

// loadConfig loads the configuration from --config (or CNS_CONFIG) and the environment, with flag
// overrides on top.
func loadConfig(file string, set map[string]string, getenv func(string) string) (*configs.Loaded, error) {
	if file == "" {
		file = getenv("CNS_CONFIG")
	}
	environ := os.Environ
	return configs.Load(configs.Options{File: file, Set: set, Environ: environ})
}

func flagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cns "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

func helpRequested(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	return runProcess(ctx, ModeDev, args, stdout, stderr, getenv)
}

// runProcess runs `cns dev`, `cns serve` or `cns worker` until SIGTERM/SIGINT, then drains and exits.
func runProcess(ctx context.Context, mode Mode, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flagSet(string(mode), stderr)
	addrHelp := "listen address (default 127.0.0.1:8080; env CNS_ADDR)"
	if mode == ModeWorker {
		addrHelp = "health and metrics address (default 127.0.0.1:9090; env CNS_WORKER_ADDR)"
	}
	addr := fs.String("addr", "", addrHelp)
	cfgFile := fs.String("config", "", "YAML configuration file (env CNS_CONFIG)")
	var data, instance *string
	if mode == ModeDev {
		data = fs.String("data", "", "data directory (default ./.cns-data; env CNS_DATA_DIR)")
	} else {
		instance = fs.String("instance", "", "instance name in the registry and in consumer names (default: host name; env CNS_INSTANCE)")
	}
	if err := parse(fs, args); err != nil || helpRequested(args) {
		return err
	}
	set := map[string]string{}
	if *addr != "" {
		if mode == ModeWorker {
			set["worker.addr"] = *addr
		} else {
			set["addr"] = *addr
		}
	}
	if data != nil && *data != "" {
		set["data_dir"] = *data
	}
	if instance != nil && *instance != "" {
		set["instance"] = *instance
	}
	cfg, err := loadConfig(*cfgFile, set, getenv)
	if err != nil {
		return err
	}
	log, err := logging.New(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Log: log, Mode: mode}
	if err := m.Open(ctx); err != nil {
		m.Close(context.Background())
		return err
	}
	if err := m.Start(ctx); err != nil {
		m.Close(context.Background())
		return err
	}
	log.Info("cns listening", zap.String("mode", string(mode)), zap.String("addr", m.Addr()), zap.String("instance", m.instance))
	if mode == ModeDev {
		tok, err := m.MintDevToken(30 * 24 * time.Hour)
		if err != nil {
			m.Close(context.Background())
			return fmt.Errorf("mint dev token: %w", err)
		}
		tokenPath := filepath.Join(cfg.DataDir, devTokenFile)
		if err := os.WriteFile(tokenPath, []byte(tok+"\n"), 0o600); err != nil {
			m.Close(context.Background())
			return fmt.Errorf("write dev token: %w", err)
		}
		fmt.Fprintf(stdout, `
CNS dev is running at %[1]s  (project %[3]q)
An admin token (30 days) is in %[2]s. Try:

  curl -s -H "Authorization: Bearer $(cat %[2]s)" -H 'Content-Type: application/json' \
    -d '{"source":"doi:10.1000/example","text":"Regular exercise improves sleep quality. In a trial of 200 adults, exercise increased deep sleep. Therefore exercise is a useful treatment for insomnia."}' \
    %[1]s/cns.v1.NarrativeService/IngestDocument

Press Ctrl-C to stop.
`, m.URL(), tokenPath, cfg.Auth.DevProject)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			if err := m.Reload(); err != nil {
				log.Error("reload failed; keeping the previous certificate", zap.Error(err))
			}
			continue
		case <-ctx.Done():
			log.Info("shutting down: draining requests and jobs")
		case err := <-m.Errors():
			m.Close(context.Background())
			return err
		}
		return m.Close(context.Background())
	}
}

func runToken(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flagSet("token", stderr)
	project := fs.String("project", "", "project (tenant) the token acts on (required)")
	perms := fs.String("perm", strings.Join(auth.AllPerms(), ","), "comma-separated permissions: "+strings.Join(auth.AllPerms(), ", "))
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	cfgFile := fs.String("config", "", "YAML configuration file (env CNS_CONFIG)")
	data := fs.String("data", "", "data directory holding the dev project's secret (default ./.cns-data)")
	if err := parse(fs, args); err != nil || helpRequested(args) {
		return err
	}
	if *project == "" {
		return usageError{"cns token: --project is required"}
	}
	if *ttl <= 0 {
		return usageError{"cns token: --ttl must be positive"}
	}
	set := map[string]string{}
	if *data != "" {
		set["data_dir"] = *data
	}
	cfg, err := loadConfig(*cfgFile, set, getenv)
	if err != nil {
		return err
	}
	var secret []byte
	if p, ok := cfg.Auth.Projects[*project]; ok {
		if secret, err = auth.DecodeSecret(p.Secret); err != nil {
			return fmt.Errorf("project %s: secret is not valid base64", *project)
		}
	} else if *project == cfg.Auth.DevProject {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, devSecretFile))
		if err != nil {
			return fmt.Errorf("project %s has no configured secret and no dev secret in %s (run cns dev once): %w", *project, cfg.DataDir, err)
		}
		if secret, err = auth.DecodeSecret(strings.TrimSpace(string(b))); err != nil {
			return fmt.Errorf("dev secret in %s is not valid", cfg.DataDir)
		}
	} else {
		return fmt.Errorf("project %q has no secret: set auth.projects.%s.secret (env CNS_AUTH__PROJECTS__%s__SECRET)", *project, *project, strings.ToUpper(*project))
	}
	var ps []string
	for _, p := range strings.Split(*perms, ",") {
		if p = strings.TrimSpace(p); p != "" {
			ps = append(ps, p)
		}
	}
	now := time.Now()
	tok, err := auth.Mint(secret, auth.Claims{Project: *project, Perms: ps, IssuedAt: now, ExpiresAt: now.Add(*ttl)})
	if err != nil {
		return fmt.Errorf("mint: %w", err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func runConfigCheck(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flagSet("config check", stderr)
	cfgFile := fs.String("config", "", "YAML configuration file (env CNS_CONFIG)")
	if err := parse(fs, args); err != nil || helpRequested(args) {
		return err
	}
	cfg, err := loadConfig(*cfgFile, nil, getenv)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "configuration is valid (profile %s)\n", cfg.Profile)
	for _, e := range cfg.Entries() {
		fmt.Fprintf(stdout, "%-32s %-40s %s\n", e.Key, e.Value, e.Source)
	}
	return nil
}
