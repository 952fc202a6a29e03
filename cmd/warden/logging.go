package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// logConfig is how `warden serve` logs: --log-level and --log-format (env WARDEN_LOG_LEVEL,
// WARDEN_LOG_FORMAT). The default, info as text, includes one line a request with its id.
type logConfig struct {
	level  logLevel
	format logFormat
}

// flags defines the two flags on fs, each defaulting to its environment variable; an invalid
// variable is an error naming it.
func (l *logConfig) flags(fs *flag.FlagSet, e env) error {
	l.level, l.format = logLevel(slog.LevelInfo), "text"
	if v := e.getenv("WARDEN_LOG_LEVEL"); v != "" {
		if err := l.level.Set(v); err != nil {
			return fmt.Errorf("WARDEN_LOG_LEVEL: %w", err)
		}
	}
	if v := e.getenv("WARDEN_LOG_FORMAT"); v != "" {
		if err := l.format.Set(v); err != nil {
			return fmt.Errorf("WARDEN_LOG_FORMAT: %w", err)
		}
	}
	fs.Var(&l.level, "log-level", "least severe log lines written: debug, info (one line a request), warn or error (env WARDEN_LOG_LEVEL)")
	fs.Var(&l.format, "log-format", "log line format: text (key=value) or json (env WARDEN_LOG_FORMAT)")
	return nil
}

// logger writes to w as configured.
func (l logConfig) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.Level(l.level)}
	if l.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logLevel is the --log-level flag.
type logLevel slog.Level

func (l *logLevel) String() string { return strings.ToLower(slog.Level(*l).String()) }

func (l *logLevel) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		*l = logLevel(slog.LevelDebug)
	case "info":
		*l = logLevel(slog.LevelInfo)
	case "warn", "warning":
		*l = logLevel(slog.LevelWarn)
	case "error":
		*l = logLevel(slog.LevelError)
	default:
		return fmt.Errorf("want debug, info, warn or error, got %q", s)
	}
	return nil
}

// logFormat is the --log-format flag.
type logFormat string

func (f *logFormat) String() string { return string(*f) }

func (f *logFormat) Set(s string) error {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "text", "json":
		*f = logFormat(v)
		return nil
	}
	return fmt.Errorf("want text or json, got %q", s)
}
