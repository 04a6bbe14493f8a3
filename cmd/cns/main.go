// Command cns is the one binary of the CNS service: `cns dev` runs everything in one process with embedded
// parts, `cns token` mints bearer tokens, `cns config check` validates configuration. This file is the
// composition root: the only place that knows every adapter.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cns-dev/cns/internal/heapfloor"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// A GOGC set by the operator is theirs to keep; otherwise a small heap grows to heapfloor.Default before a
	// collection (internal/heapfloor: a quarter of a worker's CPU per short command went to GC cycles).
	unfloor := func() {}
	if os.Getenv("GOGC") == "" {
		unfloor = heapfloor.Start(heapfloor.Default)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	unfloor()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "cns:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

const usage = `cns — Chiral Narrative Synthesis service

Usage:
  cns dev [--addr HOST:PORT] [--data DIR] [--config FILE]   run API, dashboard and workers in one process
  cns serve [--addr HOST:PORT] [--instance NAME] [--config FILE]
                                                            run the API and dashboard against Redis (CNS_REDIS_URL)
  cns worker [--addr HOST:PORT] [--instance NAME] [--config FILE]
                                                            run command consumers against Redis; serves health and metrics
  cns token --project P [--perm sno:read,...] [--ttl 24h]   mint a bearer token from the project secret
  cns config check [--config FILE]                          validate and print the effective configuration
  cns eval [--data DIR] [--json]                            measure the NLP backend on the evaluation datasets
  cns train nli [--data DIR] [--exclude sick]               train the NLI classifier (TRAIN splits only)
  cns reindex [--data DIR] [--config FILE]                  re-embed every stored SNO with the configured embedder
  cns models convert [--force] DIR                          convert a Hugging Face BERT (pytorch_model.bin) for nlp.backend cybertron
  cns calibrate pairs [--data DIR] [--only scifact]        calibrate the pair thresholds (SciFact train) and report on dev
  cns keys rotate [--config FILE]                           re-encrypt Redis records with redis.encryption_key_id
  cns version                                               print the version

Run "cns COMMAND --help" for a command's flags. Configuration: configs/README.md.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"cns: missing command"}
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr, getenv)
	case "serve":
		return runProcess(ctx, ModeServe, args[1:], stdout, stderr, getenv)
	case "worker":
		return runProcess(ctx, ModeWorker, args[1:], stdout, stderr, getenv)
	case "token":
		return runToken(args[1:], stdout, stderr, getenv)
	case "config":
		if len(args) < 2 || args[1] != "check" {
			return usageError{"usage: cns config check [--config FILE]"}
		}
		return runConfigCheck(args[2:], stdout, stderr, getenv)
	case "eval":
		return runEval(ctx, args[1:], stdout, stderr, getenv)
	case "train":
		return runTrain(ctx, args[1:], stdout, stderr, getenv)
	case "reindex":
		return runReindex(ctx, args[1:], stdout, stderr, getenv)
	case "models":
		return runModels(args[1:], stdout, stderr)
	case "calibrate":
		return runCalibrate(ctx, args[1:], stdout, stderr, getenv)
	case "keys":
		return runKeys(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version":
		fmt.Fprintln(stdout, "cns", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("cns: unknown command %q", args[0])}
}
