// Command dockercheck validates the Docker files of the repository without a Docker engine (none runs
// on the machines this project is built and tested on), with the libraries Docker itself uses:
//
//	dockercheck compose FILE [ENV_FILE]   load FILE like `docker compose config` (compose-spec/compose-go,
//	                                      the loader of Docker Compose v2: JSON schema, ${VAR}
//	                                      interpolation from the environment and ENV_FILE, env_file
//	                                      resolution, consistency checks) and print the resolved model
//	dockerfile FILE                       parse FILE with BuildKit's Dockerfile parser and instruction
//	                                      parser and run its linter (the checks of `docker build --check`);
//	                                      any warning fails
//	context DIR OUT                       copy the build context of DIR into OUT as `docker build DIR`
//	                                      would send it, honouring DIR/.dockerignore (moby/patternmatcher)
//
// It is a module of its own so that Docker's libraries stay out of the service's go.mod.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

func main() {
	var err error
	switch {
	case len(os.Args) >= 3 && os.Args[1] == "compose":
		err = compose(os.Args[2], os.Args[3:])
	case len(os.Args) == 3 && os.Args[1] == "dockerfile":
		err = dockerfile(os.Args[2])
	case len(os.Args) == 4 && os.Args[1] == "context":
		err = buildContext(os.Args[2], os.Args[3])
	default:
		err = errors.New("usage: dockercheck compose FILE [ENV_FILE] | dockerfile FILE | context DIR OUT")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockercheck:", err)
		os.Exit(1)
	}
}

func compose(file string, envFiles []string) error {
	file, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	po, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithOsEnv,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return err
	}
	p, err := po.LoadProject(context.Background())
	if err != nil {
		return err
	}
	out, err := p.MarshalYAML()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}

func dockerfile(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return err
	}
	var problems []string
	for _, w := range res.Warnings {
		problems = append(problems, fmt.Sprintf("line %d: %s", w.Location.Start.Line, w.Short))
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		problems = append(problems, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s:\n  %s", file, strings.Join(problems, "\n  "))
	}
	for _, s := range stages {
		fmt.Printf("stage %q FROM %s: %d instructions\n", s.Name, s.BaseName, len(s.Commands))
	}
	return nil
}

// buildContext copies what `docker build DIR` sends: every file not excluded by DIR/.dockerignore.
func buildContext(dir, out string) error {
	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return err
	}
	n := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		excluded, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if excluded {
			if d.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(out, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			n++
			return copyFile(path, target)
		}
		return nil // symlinks and special files: none in this repository
	})
	if err == nil {
		fmt.Printf("%d files in the build context\n", n)
	}
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	o, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}
