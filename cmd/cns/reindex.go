package main

import (
	"context"
	"fmt"
	"io"
)

func runReindex(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	return fmt.Errorf("reindex: not implemented yet")
}
