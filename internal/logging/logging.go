// Package logging builds the zap logger every cns process runs with, so that the service and the
// benchmark harness (which runs a worker in its own process) log alike.
//
// Lines below warn are sampled per message: the first SampleInitial of a message each second are
// written, then one in SampleThereafter. A worker writes a "job succeeded" line per job and the API a
// "job accepted" line per request; at thousands a second, unsampled, those lines cost the process a write
// per job and overflow journald, whose rate limit (10,000 lines per 30 s per service by default) then
// drops lines at random — warnings and errors among them. Warn and above are never sampled, so no
// failure is lost to the sampler, and below ~100 jobs a second every line is written as before.
package logging

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Sampling of the lines below warn, per message and second (zap's production default, applied below warn
// only).
const (
	SampleInitial    = 100
	SampleThereafter = 100
)

// New returns a logger writing to stderr at level ("debug", "info", "warn", "error") in format ("json",
// zap's production encoding, or "console", its development one).
func New(level, format string) (*zap.Logger, error) {
	return NewTo(level, format, zapcore.Lock(os.Stderr))
}

// NewTo is New writing to w.
func NewTo(level, format string, w zapcore.WriteSyncer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	var enc zapcore.Encoder
	opts := []zap.Option{zap.AddCaller(), zap.ErrorOutput(w)}
	switch format {
	case "json", "":
		enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	case "console":
		enc = zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
		opts = append(opts, zap.Development())
	default:
		return nil, fmt.Errorf("log format %q: want json or console", format)
	}
	below := zap.LevelEnablerFunc(func(l zapcore.Level) bool { return l >= lvl && l < zapcore.WarnLevel })
	above := zap.LevelEnablerFunc(func(l zapcore.Level) bool { return l >= lvl && l >= zapcore.WarnLevel })
	core := zapcore.NewTee(
		zapcore.NewSamplerWithOptions(zapcore.NewCore(enc, w, below), time.Second, SampleInitial, SampleThereafter),
		zapcore.NewCore(enc.Clone(), w, above),
	)
	// As zap's production (json) and development (console) configs, less their stack traces on errors: a
	// failed job's error says what failed, and the worker logs a panic's stack itself (zap.Stack).
	return zap.New(core, opts...), nil
}
