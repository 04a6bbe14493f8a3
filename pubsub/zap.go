package pubsub

import (
	"github.com/ThreeDotsLabs/watermill"
	"go.uber.org/zap"
)

// ZapLogger adapts zap to Watermill's LoggerAdapter. Watermill's info level is chatty (one line per
// subscriber start), so it maps to zap's debug; errors stay errors.
type ZapLogger struct {
	l *zap.Logger
}

// NewZapLogger returns a Watermill logger writing to l.
func NewZapLogger(l *zap.Logger) *ZapLogger { return &ZapLogger{l: l.Named("watermill")} }

func fields(f watermill.LogFields) []zap.Field {
	out := make([]zap.Field, 0, len(f))
	for k, v := range f {
		out = append(out, zap.Any(k, v))
	}
	return out
}

// Error implements watermill.LoggerAdapter.
func (z *ZapLogger) Error(msg string, err error, f watermill.LogFields) {
	z.l.Error(msg, append(fields(f), zap.Error(err))...)
}

// Info implements watermill.LoggerAdapter.
func (z *ZapLogger) Info(msg string, f watermill.LogFields) { z.l.Debug(msg, fields(f)...) }

// Debug implements watermill.LoggerAdapter.
func (z *ZapLogger) Debug(msg string, f watermill.LogFields) { z.l.Debug(msg, fields(f)...) }

// Trace implements watermill.LoggerAdapter.
func (z *ZapLogger) Trace(msg string, f watermill.LogFields) {}

// With implements watermill.LoggerAdapter.
func (z *ZapLogger) With(f watermill.LogFields) watermill.LoggerAdapter {
	return &ZapLogger{l: z.l.With(fields(f)...)}
}
